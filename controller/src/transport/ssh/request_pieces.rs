//! A host's request line in pieces: encoded on a blocking thread into fixed-size pieces
//! handed through a bounded channel to the task writing the agent's stdin. However large
//! the request's files, a host costs a few pieces of controller memory, not its whole
//! encoded request (base64: a third more than the file), and a second attempt encodes again
//! from the request, whose files are shared buffers.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use dr_agent::wire::Request;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::super::TransportError;

/// The size of a piece.
pub const PIECE: usize = 64 * 1024;

/// How many pieces wait for the writer at most (one more is being filled).
const WAITING: usize = 3;

/// A request being encoded: its pieces, then how the encoding ended.
pub struct Pieces {
    /// The pieces, in order; the last one ends with the line's newline. The channel ends
    /// early when the encoding fails.
    pub pieces: mpsc::Receiver<Bytes>,
    /// The number of bytes encoded, or why the encoding stopped.
    pub encoded: JoinHandle<Result<u64, serde_json::Error>>,
}

/// Starts encoding `request`: the pieces are made as fast as they are taken.
pub fn encode(request: Arc<Request>) -> Pieces {
    let (tx, pieces) = mpsc::channel(WAITING);
    let encoded = tokio::task::spawn_blocking(move || {
        let mut out = PieceWriter {
            tx,
            piece: Vec::new(),
            sent: 0,
        };
        // The request carries secrets: it is encoded for the wire only, never logged.
        request.write_line(&mut out)?;
        out.flush().map_err(serde_json::Error::io)?;
        Ok(out.sent)
    });
    Pieces { pieces, encoded }
}

/// How an encoding ended, for the run on `host`: an error only when it is dr's (a piece
/// refused means the agent's stdin went away first, and the exec's end says why).
pub async fn ended(
    host: &str,
    encoded: JoinHandle<Result<u64, serde_json::Error>>,
) -> Result<(), TransportError> {
    let bug = |e: &dyn std::fmt::Display| {
        TransportError::Agent(format!(
            "cannot encode the request for `{host}` (a bug in dr): {e}"
        ))
    };
    match encoded.await {
        Ok(Ok(bytes)) => {
            tracing::debug!("sent {bytes} bytes of request to `{host}`");
            Ok(())
        }
        Ok(Err(e)) if e.is_io() => Ok(()),
        Ok(Err(e)) => Err(bug(&e)),
        Err(e) => Err(bug(&e)),
    }
}

/// Cuts what is written into pieces of [`PIECE`] bytes and sends each when full, waiting
/// while [`WAITING`] pieces are not taken yet.
struct PieceWriter {
    tx: mpsc::Sender<Bytes>,
    piece: Vec<u8>,
    sent: u64,
}

impl PieceWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let mut piece = std::mem::take(&mut self.piece);
        // A request smaller than a piece (most are, its `hostvars` packed) is held by
        // russh's queue at its own size, not a piece's.
        piece.shrink_to_fit();
        self.sent += piece.len() as u64;
        self.tx
            .blocking_send(Bytes::from(piece))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdin closed"))
    }
}

impl Write for PieceWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.piece.capacity() == 0 {
            self.piece.reserve_exact(PIECE);
        }
        let n = buf.len().min(PIECE - self.piece.len());
        self.piece.extend_from_slice(&buf[..n]);
        if self.piece.len() == PIECE {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dr_agent::wire::FileContent;

    fn request(file: Vec<u8>) -> Request {
        let mut request: Request = serde_json::from_value(serde_json::json!({
            "protocol": dr_agent::wire::PROTOCOL_VERSION, "host": "h", "mode": "apply",
            "diff": false, "play": {"name": "p", "tasks": []}, "vars": {}, "files": {}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        request
            .files
            .insert("big".into(), FileContent::new(file, "files/big"));
        request
    }

    #[tokio::test]
    async fn pieces_are_full_but_the_last_and_make_the_encoded_line() {
        let file: Vec<u8> = (0..(PIECE * 2 + 1000)).map(|i| (i % 256) as u8).collect();
        let request = Arc::new(request(file));
        let Pieces {
            mut pieces,
            encoded,
        } = encode(request.clone());
        let mut line = Vec::new();
        let mut sizes = Vec::new();
        while let Some(piece) = pieces.recv().await {
            sizes.push(piece.len());
            line.extend_from_slice(&piece);
        }
        assert!(ended("h", encoded).await.is_ok());
        let whole = request.to_line().unwrap_or_default();
        assert!(line == whole, "the pieces differ from the line");
        let (last, full) = sizes.split_last().unwrap_or((&0, &[]));
        assert!(full.iter().all(|n| *n == PIECE), "{sizes:?}");
        assert!(*last > 0 && *last <= PIECE, "{sizes:?}");
        assert_eq!(line.last(), Some(&b'\n'));
    }

    #[tokio::test]
    async fn a_reader_gone_stops_the_encoding_without_an_error() {
        let request = Arc::new(request(vec![0xff; PIECE * 8]));
        let Pieces {
            mut pieces,
            encoded,
        } = encode(request);
        assert!(pieces.recv().await.is_some());
        drop(pieces);
        let result = encoded.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(result.as_ref().is_err_and(|e| e.is_io()), "{result:?}");
    }
}
