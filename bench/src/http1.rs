//! A small HTTP/1.1 keep-alive client for the load generators: one connection per simulated
//! client, the request written in one piece, the response read by its `Content-Length`.
//!
//! The load generator shares the machine's two cores with the server it measures. reqwest
//! (hyper, a connection pool, header maps, URL parsing per request) cost 13 % of all CPU in a
//! list run, CPU the server then did not have; this costs a fraction of that. Loopback and
//! `http://` only; a chunked or otherwise unsized response is an error, not a guess.

use memchr::memmem;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where requests go: `host:port` and the path, from an `http://host:port/path` URL.
#[derive(Debug, Clone)]
pub struct Target {
    authority: String,
    path: String,
}

impl Target {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("only http:// URLs: {url}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        Ok(Self {
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// One keep-alive connection.
pub struct Conn {
    target: Target,
    stream: Option<TcpStream>,
    request: Vec<u8>,
    buf: Vec<u8>,
}

/// A response: its status, and its body inside the connection's buffer.
pub struct Response<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

impl Conn {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            stream: None,
            request: Vec::with_capacity(4096),
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// POSTs `body` with `headers` (each a full `Name: value` line without its CRLF) and reads
    /// the whole response. A connection that fails is dropped and opened again on the next
    /// request.
    pub async fn post(&mut self, headers: &[&str], body: &[u8]) -> io::Result<Response<'_>> {
        let result = self.exchange(headers, body).await;
        match result {
            Ok((status, start, end, close)) => {
                if close {
                    self.stream = None;
                }
                Ok(Response {
                    status,
                    body: &self.buf[start..end],
                })
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn exchange(
        &mut self,
        headers: &[&str],
        body: &[u8],
    ) -> io::Result<(u16, usize, usize, bool)> {
        use std::io::Write;
        let r = &mut self.request;
        r.clear();
        write!(
            r,
            "POST {} HTTP/1.1\r\nHost: {}\r\n",
            self.target.path, self.target.authority
        )?;
        for h in headers {
            r.extend_from_slice(h.as_bytes());
            r.extend_from_slice(b"\r\n");
        }
        write!(r, "Content-Length: {}\r\n\r\n", body.len())?;
        r.extend_from_slice(body);
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.target.authority).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(io::Error::other("no connection"));
        };
        stream.write_all(&self.request).await?;

        self.buf.clear();
        let head_end = loop {
            if let Some(i) = memmem::find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| io::Error::other("response head is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line in {head:?}")))?;
        let (mut length, mut close) = (None, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let length = length.ok_or_else(|| io::Error::other("response without Content-Length"))?;
        let (start, end) = (head_end + 4, head_end + 4 + length);
        while self.buf.len() < end {
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        if self.buf.len() > end {
            return Err(io::Error::other("more bytes than the response's length"));
        }
        Ok((status, start, end, close))
    }
}

/// A request as [`serve`] hands it to its handler.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: &'a [u8],
}

/// Serves HTTP/1.1 keep-alive connections from `listener` with `handle`, which answers each
/// request with a status and a JSON body: the fake platforms' side of a load test, as small as
/// the client above (a platform's servers are not on the machine in production, so what they
/// cost here is kept out of the figures as far as it can be). A request must say its
/// `Content-Length`; one that does not, or is malformed, ends its connection.
pub async fn serve<F>(listener: tokio::net::TcpListener, handle: F) -> io::Result<()>
where
    F: Fn(Request<'_>) -> (u16, &'static str) + Send + Sync + 'static,
{
    let handle = std::sync::Arc::new(handle);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let handle = std::sync::Arc::clone(&handle);
        tokio::spawn(async move {
            if let Err(e) = connection(stream, &*handle).await {
                eprintln!("fake platform: connection ended: {e}");
            }
        });
    }
}

async fn connection<F>(mut stream: TcpStream, handle: &F) -> io::Result<()>
where
    F: Fn(Request<'_>) -> (u16, &'static str),
{
    use std::io::Write;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(512);
    loop {
        let head_end = loop {
            if let Some(i) = memmem::find(&buf, b"\r\n\r\n") {
                break i;
            }
            if stream.read_buf(&mut buf).await? == 0 {
                // The client hung up between requests (or inside one: nothing to answer).
                return Ok(());
            }
        };
        let head = std::str::from_utf8(&buf[..head_end])
            .map_err(|_| io::Error::other("request head is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let (method, path) = match (first.next(), first.next()) {
            (Some(m), Some(p)) => (m.to_owned(), p.to_owned()),
            _ => return Err(io::Error::other(format!("bad request line in {head:?}"))),
        };
        let mut length = None;
        for line in lines {
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let length = length.ok_or_else(|| io::Error::other("request without Content-Length"))?;
        let end = head_end + 4 + length;
        while buf.len() < end {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let (status, body) = handle(Request {
            method: &method,
            path: &path,
            body: &buf[head_end + 4..end],
        });
        out.clear();
        write!(
            out,
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            if status == 200 { "OK" } else { "Error" },
            body.len()
        )?;
        stream.write_all(&out).await?;
        // A pipelined request's bytes stay for the next turn.
        buf.drain(..end);
    }
}
