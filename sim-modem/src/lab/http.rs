//! The lab's HTTP endpoint: what a device's `AT+HTTPACTION` reaches in replay.
//!
//! It listens on the lab's address at [`HttpConfig::port`] (80). Each request (GET, POST,
//! HEAD, any other method) is recorded ([`HttpRequest`]) and answered with the first of
//! [`HttpConfig::answers`] that matches its method and path, or `200 OK` with the body `ok`
//! when none does. The connection stays open for more requests (HTTP/1.1); the modem closes
//! it. Bytes that are no HTTP request get a `400` and are not read further.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ClientId;
use crate::http::{write_response, Request, RequestReader};

/// The lab's HTTP endpoint. Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// The TCP port it listens on at the lab's address; 0: no endpoint.
    pub port: u16,
    /// How it answers, the first match winning.
    pub answers: Vec<HttpAnswer>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            port: 80,
            answers: Vec::new(),
        }
    }
}

/// One answer and the requests it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpAnswer {
    /// The method (`GET`, `POST`, ...); empty: any.
    pub method: String,
    /// The path and query as requested (`/ping?x=1`); `*` at its end matches any rest;
    /// empty: any.
    pub path: String,
    /// The status code.
    pub status: u16,
    /// The body (UTF-8 text).
    pub body: String,
    /// Its `Content-Type`.
    pub content_type: String,
}

impl Default for HttpAnswer {
    fn default() -> Self {
        HttpAnswer {
            method: String::new(),
            path: String::new(),
            status: 200,
            body: "ok".into(),
            content_type: "text/plain".into(),
        }
    }
}

impl HttpAnswer {
    fn matches(&self, request: &Request) -> bool {
        let method = self.method.is_empty() || self.method.eq_ignore_ascii_case(&request.method);
        let path = match self.path.strip_suffix('*') {
            _ if self.path.is_empty() => true,
            Some(prefix) => request.path.starts_with(prefix),
            None => self.path == request.path,
        };
        method && path
    }
}

/// A request the endpoint got, and the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub at: Duration,
    pub client: ClientId,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl HttpRequest {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::header(&self.headers, name)
    }
}

/// The endpoint's state: its answers, a reader per connection, what it got.
#[derive(Debug, Clone, Default)]
pub(super) struct Endpoint {
    pub config: HttpConfig,
    readers: BTreeMap<ClientId, Option<RequestReader>>,
    pub requests: Vec<HttpRequest>,
}

impl Endpoint {
    pub(super) fn new(config: HttpConfig) -> Endpoint {
        Endpoint {
            config,
            ..Endpoint::default()
        }
    }

    /// A client connected to the endpoint.
    pub(super) fn accept(&mut self, client: ClientId) {
        self.readers.insert(client, Some(RequestReader::default()));
    }

    /// Whether `client` is one of the endpoint's.
    pub(super) fn serves(&self, client: ClientId) -> bool {
        self.readers.contains_key(&client)
    }

    /// Bytes from a client: the answers to send it.
    pub(super) fn receive(&mut self, now: Duration, client: ClientId, data: &[u8]) -> Vec<Vec<u8>> {
        let Some(slot) = self.readers.get_mut(&client) else {
            return Vec::new();
        };
        let Some(reader) = slot.as_mut() else {
            return Vec::new();
        };
        let requests = match reader.feed(data) {
            Ok(requests) => requests,
            Err(_) => {
                *slot = None;
                return vec![write_response(400, "text/plain", b"bad request", false)];
            }
        };
        let mut out = Vec::new();
        for request in requests {
            let fallback = HttpAnswer::default();
            let answer = self
                .config
                .answers
                .iter()
                .find(|a| a.matches(&request))
                .unwrap_or(&fallback);
            let head = request.method.eq_ignore_ascii_case("HEAD");
            out.push(write_response(
                answer.status,
                &answer.content_type,
                answer.body.as_bytes(),
                head,
            ));
            self.requests.push(HttpRequest {
                at: now,
                client,
                method: request.method,
                path: request.path,
                headers: request.headers,
                body: request.body,
                status: answer.status,
            });
        }
        out
    }

    /// Puts `answer` first: it wins over those configured.
    pub(super) fn answer_first(&mut self, answer: HttpAnswer) {
        self.config.answers.insert(0, answer);
    }
}
