//! Rows as JSON, each PostgreSQL type mapped to what psycopg2 hands Ansible's
//! `community.postgresql` modules after their own conversions (`convert_to_supported` in
//! the collection's `module_utils/postgres.py`, the row loop of `postgresql_query`):
//! integers → int, `real`/`double` → float, `numeric` → float (the collection turns
//! `Decimal` into `float`), `boolean` → bool, text types and enums → str, `json`/`jsonb` →
//! the document, one-dimensional arrays → lists, `uuid` → str, `void` → `""`, `date`/`time`/`timestamp` →
//! ISO 8601 strings (Ansible's JSON encoder calls `isoformat()`; `timestamptz` is given in
//! UTC, `+00:00`, where psycopg2 would use the session's `TimeZone`), `interval` → Python's
//! `str(timedelta)` (`1 day, 2:03:04`), NULL → null. Other types are refused with the column
//! named: cast them (`::text`) in the query.

use std::error::Error;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use postgres::Row;
use postgres::types::{FromSql, Kind, Type};
use serde_json::{Map, Value as Json};

use super::error::ClientError;

type DecodeResult = Result<Json, Box<dyn Error + Sync + Send>>;

/// One decoded value.
struct Cell(Json);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        decode(ty, raw).map(Cell)
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Cell(Json::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A row as a map of column name to value, in column order.
pub(crate) fn row_to_json(row: &Row) -> Result<Map<String, Json>, ClientError> {
    let mut out = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let cell: Cell = row.try_get(i).map_err(|e| ClientError::Decode {
            column: col.name().to_owned(),
            msg: e.source().map_or_else(|| e.to_string(), |s| s.to_string()),
        })?;
        out.insert(col.name().to_owned(), cell.0);
    }
    Ok(out)
}

fn decode(ty: &Type, raw: &[u8]) -> DecodeResult {
    match *ty {
        Type::BOOL => Ok(Json::Bool(bool::from_sql(ty, raw)?)),
        Type::INT2 => Ok(Json::from(i16::from_sql(ty, raw)?)),
        Type::INT4 => Ok(Json::from(i32::from_sql(ty, raw)?)),
        Type::INT8 => Ok(Json::from(i64::from_sql(ty, raw)?)),
        Type::OID => Ok(Json::from(u32::from_sql(ty, raw)?)),
        Type::FLOAT4 => Ok(float(f64::from(f32::from_sql(ty, raw)?))),
        Type::FLOAT8 => Ok(float(f64::from_sql(ty, raw)?)),
        Type::NUMERIC => numeric(raw),
        Type::CHAR => Ok(Json::from(
            char::from(i8::from_sql(ty, raw)? as u8).to_string(),
        )),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML => {
            Ok(Json::from(text(raw)?))
        }
        // psycopg2 has no caster for `void` and hands over its text, the empty string.
        Type::VOID => Ok(Json::from("")),
        Type::JSON | Type::JSONB => Ok(Json::from_sql(ty, raw)?),
        Type::UUID => uuid(raw),
        Type::DATE => date(raw),
        Type::TIME => time(raw),
        Type::TIMESTAMP => timestamp(raw, ""),
        Type::TIMESTAMPTZ => timestamp(raw, "+00:00"),
        Type::INTERVAL => interval(raw),
        _ => match ty.kind() {
            Kind::Array(_) => {
                let items: Vec<Cell> = Vec::from_sql(ty, raw)?;
                Ok(Json::Array(items.into_iter().map(|c| c.0).collect()))
            }
            Kind::Enum(_) => Ok(Json::from(text(raw)?)),
            Kind::Domain(inner) => decode(inner, raw),
            _ if matches!(ty.name(), "citext" | "ltree" | "lquery") => Ok(Json::from(text(raw)?)),
            _ => Err(format!(
                "type `{}` is not supported: cast it in the query (`::text`)",
                ty.name()
            )
            .into()),
        },
    }
}

fn text(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    Ok(std::str::from_utf8(raw)?.to_owned())
}

/// A float as JSON; NaN and the infinities (which JSON cannot hold) as their names.
fn float(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or_else(|| Json::from(python_float_name(f)), Json::Number)
}

fn python_float_name(f: f64) -> &'static str {
    if f.is_nan() {
        "nan"
    } else if f > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

fn be_i16(raw: &[u8], at: usize) -> Result<i16, Box<dyn Error + Sync + Send>> {
    raw.get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map(i16::from_be_bytes)
        .ok_or_else(|| "truncated value".into())
}

fn be_i32(raw: &[u8], at: usize) -> Result<i32, Box<dyn Error + Sync + Send>> {
    raw.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_be_bytes)
        .ok_or_else(|| "truncated value".into())
}

fn be_i64(raw: &[u8], at: usize) -> Result<i64, Box<dyn Error + Sync + Send>> {
    raw.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| "truncated value".into())
}

/// `numeric`'s binary form (base-10000 digits, a weight, a sign) as a float, through its
/// decimal text so the float is the nearest to the exact value, as `float(Decimal)` is.
fn numeric(raw: &[u8]) -> DecodeResult {
    let ndigits = be_i16(raw, 0)?;
    let weight = be_i16(raw, 2)?;
    let sign = be_i16(raw, 4)? as u16;
    match sign {
        0xC000 => return Ok(Json::from("nan")),
        0xD000 => return Ok(Json::from("inf")),
        0xF000 => return Ok(Json::from("-inf")),
        _ => {}
    }
    let mut text = String::from(if sign == 0x4000 { "-0" } else { "0" });
    let mut digits = Vec::new();
    for i in 0..usize::try_from(ndigits).unwrap_or(0) {
        digits.push(be_i16(raw, 8 + 2 * i)?);
    }
    // value = sum(d[i] * 10000^(weight - i)); written as integer digits then an exponent.
    for d in &digits {
        text.push_str(&format!("{d:04}"));
    }
    let exp = 4 * (i32::from(weight) + 1 - digits.len() as i32);
    text.push_str(&format!("e{exp}"));
    let f: f64 = text.parse()?;
    Ok(float(f))
}

fn uuid(raw: &[u8]) -> DecodeResult {
    let h = hex::encode(raw);
    if h.len() != 32 {
        return Err("bad uuid".into());
    }
    Ok(Json::from(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

/// PostgreSQL's epoch for dates and timestamps.
fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

fn date(raw: &[u8]) -> DecodeResult {
    let days = be_i32(raw, 0)?;
    match days {
        i32::MAX => return Ok(Json::from("infinity")),
        i32::MIN => return Ok(Json::from("-infinity")),
        _ => {}
    }
    let d = epoch().date() + TimeDelta::days(i64::from(days));
    Ok(Json::from(d.format("%Y-%m-%d").to_string()))
}

/// Python's `isoformat()`: microseconds only when there are some.
fn iso_time(t: NaiveTime) -> String {
    use chrono::Timelike;
    if t.nanosecond() == 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M:%S%.6f").to_string()
    }
}

fn time(raw: &[u8]) -> DecodeResult {
    let us = be_i64(raw, 0)?;
    let t = NaiveTime::MIN + TimeDelta::microseconds(us);
    Ok(Json::from(iso_time(t)))
}

fn timestamp(raw: &[u8], offset: &str) -> DecodeResult {
    let us = be_i64(raw, 0)?;
    match us {
        i64::MAX => return Ok(Json::from("infinity")),
        i64::MIN => return Ok(Json::from("-infinity")),
        _ => {}
    }
    let t = epoch()
        .checked_add_signed(TimeDelta::microseconds(us))
        .ok_or("timestamp out of range")?;
    Ok(Json::from(format!(
        "{}T{}{offset}",
        t.date().format("%Y-%m-%d"),
        iso_time(t.time())
    )))
}

/// Python's `str(timedelta)` of psycopg2's interval (a month is 30 days there).
fn interval(raw: &[u8]) -> DecodeResult {
    let us = be_i64(raw, 0)?;
    let days = be_i32(raw, 8)?;
    let months = be_i32(raw, 12)?;
    let total = (i128::from(months) * 30 + i128::from(days)) * 86_400_000_000 + i128::from(us);
    Ok(Json::from(timedelta_str(total)))
}

/// `str(datetime.timedelta(microseconds=us))`.
pub(crate) fn timedelta_str(us: i128) -> String {
    let day = 86_400_000_000i128;
    let days = us.div_euclid(day);
    let rest = us.rem_euclid(day);
    let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        out.push_str(&format!("{days} day{plural}, "));
    }
    out.push_str(&format!("{h}:{m:02}:{s:02}"));
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedelta_is_printed_as_python_does() {
        assert_eq!(timedelta_str(0), "0:00:00");
        assert_eq!(
            timedelta_str(86_400_000_000 + 7_384_000_000),
            "1 day, 2:03:04"
        );
        assert_eq!(
            timedelta_str(3 * 86_400_000_000 + 5),
            "3 days, 0:00:00.000005"
        );
        assert_eq!(timedelta_str(-3_600_000_000), "-1 day, 23:00:00");
    }

    #[test]
    fn numeric_binary_form() {
        // 12345.678: digits [1, 2345, 6780], weight 1, dscale 3.
        let mut raw = Vec::new();
        for v in [3i16, 1, 0, 3, 1, 2345, 6780] {
            raw.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(numeric(&raw).ok(), Some(Json::from(12345.678)));
        let neg: Vec<u8> = [1i16, -1, 0x4000u16 as i16, 2, 5000]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        assert_eq!(numeric(&neg).ok(), Some(Json::from(-0.5)));
        let zero: Vec<u8> = [0i16, 0, 0, 0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        assert_eq!(numeric(&zero).ok(), Some(Json::from(0.0)));
    }
}
