//! The parts of ComfyUI's HTTP and websocket API that `comfydock test` uses: `/object_info`,
//! `POST /prompt`, `/history/{id}`, `POST /interrupt`, and the `/ws` events of one client id.

use serde_json::{Value, json};
use std::net::TcpStream;
use std::time::Duration;

/// How long one HTTP call may take (`/object_info` of a large install is a few MB).
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a websocket read waits before the caller checks its deadline again.
const WS_READ_TIMEOUT: Duration = Duration::from_millis(100);

pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    pub client_id: String,
}

/// What `POST /prompt` answered.
pub enum Queued {
    Accepted {
        prompt_id: String,
    },
    /// 400: ComfyUI's `{error, node_errors}`.
    Rejected {
        error: Value,
        node_errors: Value,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("ComfyUI at {url}: {message}")]
pub struct ClientError {
    pub url: String,
    pub message: String,
}

impl Client {
    pub fn new(base: &str) -> Result<Client, ClientError> {
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| ClientError {
                url: base.to_string(),
                message: e.to_string(),
            })?;
        let client_id = format!("comfydock-{}-{}", std::process::id(), crate::clock::now_secs());
        Ok(Client {
            http,
            base: base.to_string(),
            client_id,
        })
    }

    fn err(&self, path: &str, message: impl std::fmt::Display) -> ClientError {
        ClientError {
            url: format!("{}{path}", self.base),
            message: message.to_string(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, ClientError> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .map_err(|e| self.err(path, e))?;
        if !r.status().is_success() {
            return Err(self.err(path, format!("HTTP {}", r.status())));
        }
        r.json().map_err(|e| self.err(path, e))
    }

    pub fn object_info(&self) -> Result<Value, ClientError> {
        self.get("/object_info")
    }

    pub fn queue(&self, prompt: &Value) -> Result<Queued, ClientError> {
        let body = json!({"prompt": prompt, "client_id": self.client_id});
        let r = self
            .http
            .post(format!("{}/prompt", self.base))
            .json(&body)
            .send()
            .map_err(|e| self.err("/prompt", e))?;
        let status = r.status();
        let v: Value = r.json().map_err(|e| self.err("/prompt", e))?;
        if status.is_success() {
            let prompt_id = v
                .get("prompt_id")
                .and_then(Value::as_str)
                .ok_or_else(|| self.err("/prompt", "the answer has no prompt_id"))?;
            return Ok(Queued::Accepted {
                prompt_id: prompt_id.to_string(),
            });
        }
        Ok(Queued::Rejected {
            error: v.get("error").cloned().unwrap_or(Value::Null),
            node_errors: v.get("node_errors").cloned().unwrap_or(Value::Null),
        })
    }

    /// The history entry of `prompt_id`, once it has finished.
    pub fn history(&self, prompt_id: &str) -> Result<Option<Value>, ClientError> {
        let v = self.get(&format!("/history/{prompt_id}"))?;
        Ok(v.get(prompt_id).cloned())
    }

    pub fn interrupt(&self) -> Result<(), ClientError> {
        self.http
            .post(format!("{}/interrupt", self.base))
            .json(&json!({}))
            .send()
            .map_err(|e| self.err("/interrupt", e))?;
        Ok(())
    }

    /// The websocket of this client id.
    pub fn events(&self, port: u16) -> Result<Events, ClientError> {
        let url = format!("ws://127.0.0.1:{port}/ws?clientId={}", self.client_id);
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| self.err("/ws", e))?;
        stream
            .set_read_timeout(Some(WS_READ_TIMEOUT))
            .map_err(|e| self.err("/ws", e))?;
        // The handshake itself is read with a longer timeout.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| self.err("/ws", e))?;
        let (socket, _) = tungstenite::client::client(url.as_str(), stream).map_err(|e| self.err("/ws", e))?;
        socket
            .get_ref()
            .set_read_timeout(Some(WS_READ_TIMEOUT))
            .map_err(|e| self.err("/ws", e))?;
        Ok(Events { socket })
    }
}

/// ComfyUI's websocket: `{"type": EVENT, "data": {...}}` text messages.
pub struct Events {
    socket: tungstenite::WebSocket<TcpStream>,
}

/// One read of the websocket.
pub enum Event {
    Message {
        kind: String,
        data: Value,
    },
    /// Nothing within the read timeout.
    Idle,
    /// The socket closed or failed.
    Closed,
}

impl Events {
    pub fn read_event(&mut self) -> Event {
        match self.socket.read() {
            Ok(tungstenite::Message::Text(text)) => match serde_json::from_str::<Value>(text.as_str()) {
                Ok(v) => Event::Message {
                    kind: v.get("type").and_then(Value::as_str).unwrap_or_default().to_string(),
                    data: v.get("data").cloned().unwrap_or(Value::Null),
                },
                Err(_) => Event::Idle,
            },
            // Binary frames are previews; pings are answered by tungstenite.
            Ok(_) => Event::Idle,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                Event::Idle
            }
            Err(_) => Event::Closed,
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}
