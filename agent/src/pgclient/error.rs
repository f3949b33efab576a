//! Why a PostgreSQL operation failed, phrased without any secret: the password is never
//! part of a [`ClientError`] (the client library's errors never echo it either).

/// A failure of the client layer.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ClientError {
    /// The server could not be reached, or refused the login.
    #[error("{0}")]
    Connect(String),
    /// The server rejected SQL.
    #[error("{msg}")]
    Sql {
        /// SQLSTATE.
        code: Option<String>,
        /// The server's message (with its detail and hint).
        msg: String,
    },
    /// The TLS settings could not be used (a missing root certificate...).
    #[error("{0}")]
    Tls(String),
    /// A value could not be turned into JSON.
    #[error("column `{column}`: {msg}")]
    Decode {
        /// The column's name.
        column: String,
        /// Why.
        msg: String,
    },
    /// The arguments do not fit the query.
    #[error("{0}")]
    Args(String),
}

impl ClientError {
    /// An error from the client library while running SQL.
    pub(crate) fn sql(e: &postgres::Error) -> ClientError {
        match e.as_db_error() {
            Some(db) => {
                let mut msg = db.message().to_owned();
                if let Some(d) = db.detail() {
                    msg.push_str(&format!("\nDETAIL:  {d}"));
                }
                if let Some(h) = db.hint() {
                    msg.push_str(&format!("\nHINT:  {h}"));
                }
                ClientError::Sql {
                    code: Some(db.code().code().to_owned()),
                    msg,
                }
            }
            None => ClientError::Sql {
                code: None,
                msg: e.to_string(),
            },
        }
    }

    /// The SQLSTATE, when the server gave one.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            ClientError::Sql { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}
