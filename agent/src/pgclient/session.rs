//! What a [`Session`] runs: plain SQL, and single statements whose rows come back as JSON.

use postgres::fallible_iterator::FallibleIterator;
use serde_json::{Map, Value as Json};

use super::conn::Session;
use super::error::ClientError;
use super::status::status_message;
use super::value::row_to_json;

/// One statement's result.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Outcome {
    /// Its rows, each a map of column name to value.
    pub rows: Vec<Map<String, Json>>,
    /// Whether the statement returns rows at all (a `SELECT` of none does; an `UPDATE` does
    /// not, unless `RETURNING`).
    pub returns_rows: bool,
    /// Rows produced or affected.
    pub rowcount: u64,
    /// The command tag (`INSERT 0 1`).
    pub status: String,
}

impl Session {
    /// Runs `sql` (any number of statements) with the simple query protocol, ignoring rows.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), ClientError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| ClientError::sql(&e))
    }

    /// Runs one statement and returns its rows, typed (see [`super::value`]).
    pub(crate) fn statement(&mut self, sql: &str) -> Result<Outcome, ClientError> {
        let stmt = self.client.prepare(sql).map_err(|e| ClientError::sql(&e))?;
        let returns_rows = !stmt.columns().is_empty();
        let mut it = self
            .client
            .query_raw(&stmt, std::iter::empty::<i32>())
            .map_err(|e| ClientError::sql(&e))?;
        let mut rows = Vec::new();
        while let Some(row) = it.next().map_err(|e| ClientError::sql(&e))? {
            rows.push(row_to_json(&row)?);
        }
        let rowcount = it.rows_affected().unwrap_or(rows.len() as u64);
        Ok(Outcome {
            status: status_message(sql, rowcount),
            rows,
            returns_rows,
            rowcount,
        })
    }

    /// The first column of the first row of `sql` as text (`SHOW server_version`), typed
    /// values cast by the caller.
    pub(crate) fn scalar(&mut self, sql: &str) -> Result<Json, ClientError> {
        let out = self.statement(sql)?;
        Ok(out
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().map(|(_, v)| v))
            .unwrap_or(Json::Null))
    }
}

impl Session {
    /// The rows of `sql` (one statement).
    pub(crate) fn rows(&mut self, sql: &str) -> Result<Vec<Map<String, Json>>, ClientError> {
        Ok(self.statement(sql)?.rows)
    }

    /// The server's version as a number (`150008`).
    pub(crate) fn server_version_num(&mut self) -> Result<u32, ClientError> {
        let v = self.scalar("SELECT current_setting('server_version_num')::int AS v")?;
        Ok(v.as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0))
    }
}
