//! Connections to mail servers, shared by IMAP and SMTP: TCP with `TCP_NODELAY` (SMTP writes a
//! message and its terminating dot separately; with Nagle's algorithm and the server's delayed
//! ACK that costs 40 ms a mail), then TLS from the first byte where configured, with the
//! system's roots plus a configured CA file.

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

/// A TCP connection, upgraded to TLS or not.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TLS client configuration trusting the system's roots plus those in `ca_file`.
pub fn tls_config(ca_file: Option<&PathBuf>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut extra = Vec::new();
    if let Some(f) = ca_file {
        for c in
            CertificateDer::pem_file_iter(f).with_context(|| format!("reading {}", f.display()))?
        {
            extra.push(c.with_context(|| format!("a certificate in {}", f.display()))?);
        }
    }
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .context("TLS verifier")?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

impl Conn {
    /// Connects over TCP (no Nagle), within `timeout`.
    pub async fn tcp(host: &str, port: u16, timeout: Duration) -> anyhow::Result<TcpStream> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .with_context(|| format!("connecting to {host}:{port}: timed out"))?
            .with_context(|| format!("connecting to {host}:{port}"))?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }

    /// TLS over an open connection, checking the certificate against `host`.
    pub async fn tls(tls: &TlsConnector, host: &str, tcp: TcpStream) -> anyhow::Result<Conn> {
        let name = ServerName::try_from(host.to_owned()).context("server name")?;
        let s = tls
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS with {host}"))?;
        Ok(Conn::Tls(Box::new(s)))
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for Conn {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        match self {
            Conn::Plain(s) => s.peer_addr(),
            Conn::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }
}
