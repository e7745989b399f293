//! Sending one delivery to its channel: a signed webhook, a Slack-compatible webhook, or email.
//!
//! A webhook receives the payload as JSON with these headers, so a receiver can check it came from
//! this AnomalyForge and is not a replay:
//! - `X-AnomalyForge-Event`: the event (`alert`, `incident_opened`, …);
//! - `X-AnomalyForge-Delivery`: the delivery's number (the same on every retry: deduplicate on it);
//! - `X-AnomalyForge-Timestamp`: unix seconds when it was sent;
//! - `X-AnomalyForge-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the channel's secret,
//!   of `<timestamp>.<body>` ([`signature`]).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;

use crate::notify::message;
use crate::notify::ChannelKind;
use crate::secret::Secret;
use crate::store::notify::DueDelivery;

/// How to reach the SMTP server (`[notify.smtp]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default 587 (STARTTLS); 465 for `tls`; 25 for a local relay.
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender address (`AnomalyForge <soc@example.com>`).
    pub from: String,
}

fn default_port() -> u16 {
    587
}

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Upgrade with STARTTLS, and refuse to send if the server cannot (the default).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: only for a relay on this machine or a test sink.
    None,
}

/// A new webhook signing key: 32 random bytes, hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `<timestamp>.<body>`).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256=");
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// What sends: an HTTP client and the SMTP settings.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    smtp: Option<SmtpConfig>,
    public_url: Option<String>,
}

impl Sender {
    pub fn new(smtp: Option<SmtpConfig>, public_url: Option<String>) -> Sender {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("AnomalyForge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with these settings");
        Sender { http, smtp, public_url: public_url.map(|u| u.trim_end_matches('/').to_string()) }
    }

    /// The payload with `url` added when the public URL is known.
    fn payload(&self, d: &DueDelivery) -> serde_json::Value {
        let mut p: serde_json::Value = serde_json::from_str(&d.delivery.payload).unwrap_or_default();
        if let (Some(base), Some(path)) = (&self.public_url, p["path"].as_str().map(str::to_string)) {
            p["url"] = serde_json::Value::String(format!("{base}{path}"));
        }
        p
    }

    /// Sends one delivery; the error says what went wrong in words.
    pub async fn send(&self, d: &DueDelivery, now_secs: i64) -> Result<(), String> {
        let payload = self.payload(d);
        match d.kind {
            ChannelKind::Webhook => {
                let body = payload.to_string();
                let mut req = self
                    .http
                    .post(&d.target)
                    .header("content-type", "application/json")
                    .header("x-anomalyforge-event", &d.delivery.event)
                    .header("x-anomalyforge-delivery", d.delivery.id.to_string())
                    .header("x-anomalyforge-timestamp", now_secs.to_string());
                if !d.secret.is_empty() {
                    req = req.header("x-anomalyforge-signature", signature(&d.secret, now_secs, &body));
                }
                self.post(req.body(body)).await
            }
            ChannelKind::Slack => {
                let body = message::slack_body(&payload).to_string();
                self.post(self.http.post(&d.target).header("content-type", "application/json").body(body)).await
            }
            ChannelKind::Email => self.email(d, &payload).await,
        }
    }

    async fn post(&self, req: reqwest::RequestBuilder) -> Result<(), String> {
        let res = req.send().await.map_err(|e| format!("cannot reach the webhook: {}", without_url(&e)))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let text = res.text().await.unwrap_or_default();
        Err(format!("the webhook answered HTTP {}: {}", status.as_u16(), text.chars().take(200).collect::<String>()))
    }

    async fn email(&self, d: &DueDelivery, payload: &serde_json::Value) -> Result<(), String> {
        use lettre::message::{header::ContentType, Mailbox};
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
        let smtp = self.smtp.as_ref().ok_or("no SMTP server is configured ([notify.smtp])")?;
        let from: Mailbox = smtp.from.parse().map_err(|e| format!("notify.smtp.from: {e}"))?;
        let mut builder =
            lettre::Message::builder().from(from).subject(d.delivery.subject.chars().take(200).collect::<String>());
        for to in d.target.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            builder = builder.to(to.parse::<Mailbox>().map_err(|e| format!("{to}: {e}"))?);
        }
        let email = builder
            .header(ContentType::TEXT_PLAIN)
            .body(message::email_text(payload))
            .map_err(|e| format!("cannot build the email: {e}"))?;
        let transport = match smtp.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)),
        }
        .map_err(|e| format!("SMTP server {}: {e}", smtp.host))?
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(15)));
        let transport = match (&smtp.username, &smtp.password) {
            (Some(u), Some(p)) => transport.credentials(Credentials::new(u.clone(), p.0.clone())),
            _ => transport,
        }
        .build();
        transport.send(email).await.map(|_| ()).map_err(|e| format!("SMTP {}:{}: {e}", smtp.host, smtp.port))
    }
}

/// A reqwest error without the URL (a webhook URL often holds a secret token).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_and_body() {
        // Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(b'key', b'1.{}', hashlib.sha256).hexdigest())"
        assert_eq!(
            signature("key", 1, "{}"),
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert_ne!(signature("key", 2, "{}"), signature("key", 1, "{}"), "the timestamp is signed");
        assert_ne!(signature("other", 1, "{}"), signature("key", 1, "{}"), "the key matters");
    }
}
