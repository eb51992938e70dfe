//! HTTP/1.1 on the wire (RFC 9112), as the simulated modem's HTTP client (`AT+HTTPACTION`)
//! sends requests and reads answers, and as the lab's HTTP endpoint reads requests and
//! answers them. Heads are parsed with `httparse`; bodies are framed by `Content-Length`,
//! `Transfer-Encoding: chunked` (answers only) or, for an answer with neither, the end of the
//! connection (RFC 9112 §6.3).

/// What a URL names: host, port (80 unless given; 443 for `https://`) and the path with
/// its query (`/` when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Reads `http://host[:port][/path]`; the scheme may be left out, as SIM800 examples do
/// (`AT+HTTPPARA="URL","www.sim.com"`). `None` for an empty host or a bad port.
pub fn parse_url(url: &str) -> Option<Url> {
    let (rest, default_port) = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (rest, 80),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (rest, 443),
        Some(_) => return None,
        None => (url, 80),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, default_port),
    };
    if host.is_empty() {
        return None;
    }
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Some(Url {
        host: host.to_string(),
        port,
        path,
    })
}

/// What the modem's request carries besides method and URL.
#[derive(Debug, Clone, Default)]
pub struct RequestParts<'a> {
    /// `User-Agent` (`AT+HTTPPARA="UA"`).
    pub user_agent: &'a str,
    /// `Content-Type` (`AT+HTTPPARA="CONTENT"`), for a body.
    pub content_type: &'a str,
    /// Header lines as given (`AT+HTTPPARA="USERDATA"`).
    pub extra_headers: &'a str,
    /// The body (`AT+HTTPDATA`), sent with a POST.
    pub body: &'a [u8],
}

/// The request: the request line, `Host`, `User-Agent`, for a POST `Content-Type` and
/// `Content-Length`, the extra headers, an empty line and the body. UNCONFIRMED: the
/// SIM800's own header order and any headers it adds beyond these.
pub fn write_request(method: &str, url: &Url, parts: &RequestParts<'_>) -> Vec<u8> {
    let mut out = format!("{method} {} HTTP/1.1\r\nHost: {}", url.path, url.host);
    if url.port != 80 {
        out.push_str(&format!(":{}", url.port));
    }
    out.push_str(&format!("\r\nUser-Agent: {}\r\n", parts.user_agent));
    if method == "POST" {
        if !parts.content_type.is_empty() {
            out.push_str(&format!("Content-Type: {}\r\n", parts.content_type));
        }
        out.push_str(&format!("Content-Length: {}\r\n", parts.body.len()));
    }
    for line in parts.extra_headers.split("\r\n").filter(|l| !l.is_empty()) {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if method == "POST" {
        bytes.extend_from_slice(parts.body);
    }
    bytes
}

/// An answer with a `Content-Length` body (no body written for a `HEAD`).
pub fn write_response(status: u16, content_type: &str, body: &[u8], head: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body);
    }
    out
}

/// The reason phrase of the common status codes (RFC 9110 §15), `Status` for the rest.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A request as the lab read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first of `headers` named `name` (any case).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads the requests of one connection as its bytes arrive.
#[derive(Debug, Clone, Default)]
pub struct RequestReader {
    buf: Vec<u8>,
}

const MAX_HEADERS: usize = 32;

impl RequestReader {
    /// Takes in bytes; returns the requests they completed, or an error for bytes that are
    /// no request (the connection is then useless: nothing more is read from it).
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<Request>, String> {
        self.buf.extend_from_slice(data);
        let mut done = Vec::new();
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            let head_len = match req.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(done),
                Err(e) => return Err(format!("not an HTTP request: {e}")),
            };
            let headers = owned_headers(req.headers);
            let length = match content_length(&headers)? {
                Some(n) => n,
                None if chunked(&headers) => return Err("chunked request bodies".into()),
                None => 0,
            };
            let Some(body) = self.buf.get(head_len..head_len + length) else {
                return Ok(done);
            };
            done.push(Request {
                method: req.method.unwrap_or_default().to_string(),
                path: req.path.unwrap_or_default().to_string(),
                headers,
                body: body.to_vec(),
            });
            self.buf.drain(..head_len + length);
        }
    }
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

fn content_length(headers: &[(String, String)]) -> Result<Option<usize>, String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| {
            v.trim()
                .parse()
                .map_err(|_| format!("Content-Length {v:?}"))
        })
        .transpose()
}

fn chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The head as it came (status line and headers), what a `HEAD`'s `AT+HTTPREAD` shows.
    pub head: Vec<u8>,
    pub body: Vec<u8>,
}

/// Why an answer cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Not HTTP (SIM800: status 600, "Not HTTP PDU").
    NotHttp,
    /// The connection ended before the answer did.
    Cut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Reads one answer as its bytes arrive.
#[derive(Debug, Clone, Default)]
pub struct ResponseReader {
    buf: Vec<u8>,
    /// The answer is to a `HEAD`: no body, whatever the headers say (RFC 9112 §6.3).
    head_request: bool,
    head: Option<(u16, usize, Framing)>,
}

impl ResponseReader {
    pub fn new(head_request: bool) -> ResponseReader {
        ResponseReader {
            head_request,
            ..ResponseReader::default()
        }
    }

    /// Takes in bytes; the answer once it is complete.
    pub fn feed(&mut self, data: &[u8]) -> Result<Option<Response>, ReadError> {
        self.buf.extend_from_slice(data);
        if self.head.is_none() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut headers);
            let head_len = match resp.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(_) => return Err(ReadError::NotHttp),
            };
            let status = resp.code.unwrap_or(0);
            let headers = owned_headers(resp.headers);
            let no_body = self.head_request || status / 100 == 1 || status == 204 || status == 304;
            let framing = if no_body {
                Framing::Length(0)
            } else if chunked(&headers) {
                Framing::Chunked
            } else {
                match content_length(&headers).map_err(|_| ReadError::NotHttp)? {
                    Some(n) => Framing::Length(n),
                    None => Framing::UntilClose,
                }
            };
            self.head = Some((status, head_len, framing));
        }
        self.complete(false)
    }

    /// The connection ended: the answer if that completes it.
    pub fn close(&mut self) -> Result<Option<Response>, ReadError> {
        self.complete(true)
    }

    /// Body bytes received so far, and how many are announced (0 when not known).
    pub fn progress(&self) -> (usize, usize) {
        match self.head {
            Some((_, head_len, framing)) => {
                let got = self.buf.len().saturating_sub(head_len);
                let total = match framing {
                    Framing::Length(n) => n,
                    _ => 0,
                };
                (got.min(total.max(got)), total)
            }
            None => (0, 0),
        }
    }

    fn complete(&mut self, closed: bool) -> Result<Option<Response>, ReadError> {
        let Some((status, head_len, framing)) = self.head else {
            return if closed {
                Err(ReadError::Cut)
            } else {
                Ok(None)
            };
        };
        let rest = self.buf.get(head_len..).unwrap_or_default();
        let body = match framing {
            Framing::Length(n) => match rest.get(..n) {
                Some(body) => body.to_vec(),
                None if closed => return Err(ReadError::Cut),
                None => return Ok(None),
            },
            Framing::UntilClose if closed => rest.to_vec(),
            Framing::UntilClose => return Ok(None),
            Framing::Chunked => match dechunk(rest)? {
                Some(body) => body,
                None if closed => return Err(ReadError::Cut),
                None => return Ok(None),
            },
        };
        let head = self.buf.get(..head_len).unwrap_or_default().to_vec();
        Ok(Some(Response { status, head, body }))
    }
}

/// A chunked body, once its last chunk (and the empty line after it) has come.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
    let mut body = Vec::new();
    loop {
        let (at, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(c)) => c,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(ReadError::NotHttp),
        };
        let size = usize::try_from(size).map_err(|_| ReadError::NotHttp)?;
        let Some(chunk) = rest.get(at..at + size) else {
            return Ok(None);
        };
        if size == 0 {
            // No trailers are expected; the final empty line ends the body.
            return Ok(rest.get(at..at + 2).map(|_| body));
        }
        body.extend_from_slice(chunk);
        rest = match rest.get(at + size..at + size + 2) {
            Some(b"\r\n") => &rest[at + size + 2..],
            Some(_) => return Err(ReadError::NotHttp),
            None => return Ok(None),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type UrlCase = (&'static str, Option<(&'static str, u16, &'static str)>);
    type AnswerCase = (
        &'static [u8],
        bool,
        Result<Option<&'static [u8]>, ReadError>,
    );

    #[test]
    fn urls() {
        let cases: &[UrlCase] = &[
            (
                "http://lab.longlink.test/ping",
                Some(("lab.longlink.test", 80, "/ping")),
            ),
            ("HTTP://1.2.3.4:8080", Some(("1.2.3.4", 8080, "/"))),
            ("www.sim.com/a?b=1", Some(("www.sim.com", 80, "/a?b=1"))),
            ("example.com?q", Some(("example.com", 80, "/?q"))),
            ("https://example.com/x", Some(("example.com", 443, "/x"))),
            ("ftp://example.com/", None),
            ("http://:80/", None),
            ("http://host:port/", None),
        ];
        for (url, expected) in cases {
            let got = parse_url(url).map(|u| (u.host, u.port, u.path));
            let expected = expected.map(|(h, p, path)| (h.to_string(), p, path.to_string()));
            assert_eq!(got, expected, "{url}");
        }
    }

    #[test]
    fn request_written_and_read_back() {
        let url = parse_url("http://lab.longlink.test:8080/up").unwrap();
        let parts = RequestParts {
            user_agent: "SIMCOM_MODULE",
            content_type: "application/json",
            extra_headers: "X-Key: 1\r\nX-Other: 2",
            body: b"{\"v\":1}",
        };
        let bytes = write_request("POST", &url, &parts);
        let mut reader = RequestReader::default();
        // In two pieces, and a second request behind the first.
        let (a, b) = bytes.split_at(20);
        assert_eq!(reader.feed(a).unwrap(), vec![]);
        let mut rest = b.to_vec();
        rest.extend(write_request("GET", &url, &RequestParts::default()));
        let got = reader.feed(&rest).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].method.as_str(), got[0].path.as_str()),
            ("POST", "/up")
        );
        assert_eq!(got[0].header("host"), Some("lab.longlink.test:8080"));
        assert_eq!(got[0].header("x-other"), Some("2"));
        assert_eq!(got[0].body, b"{\"v\":1}");
        assert_eq!(got[1].method, "GET");
        assert!(RequestReader::default()
            .feed(b"\x16\x03\x01 hello\r\n\r\n")
            .is_err());
    }

    #[test]
    fn answers_framed_every_way() {
        let cases: &[AnswerCase] = &[
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, Ok(Some(b"hello"))),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false, Ok(None)),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", true, Err(ReadError::Cut)),
            (b"HTTP/1.1 200 OK\r\n\r\nuntil close", false, Ok(None)),
            (b"HTTP/1.1 200 OK\r\n\r\nuntil close", true, Ok(Some(b"until close"))),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=1\r\n!!!\r\n0\r\n\r\n",
                false,
                Ok(Some(b"hello!!!")),
            ),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", false, Ok(None)),
            (b"HTTP/1.1 204 No Content\r\n\r\n", false, Ok(Some(b""))),
            (b"SSH-2.0-OpenSSH\r\n\r\n", false, Err(ReadError::NotHttp)),
            (b"", true, Err(ReadError::Cut)),
        ];
        for (bytes, closed, expected) in cases {
            let mut reader = ResponseReader::new(false);
            let mut got = reader.feed(bytes);
            if *closed && got == Ok(None) {
                got = reader.close();
            }
            let got = got.map(|r| r.map(|r| r.body));
            assert_eq!(
                got,
                expected.map(|b| b.map(<[u8]>::to_vec)),
                "{}",
                protocol::text::Escaped(bytes)
            );
        }
        // A HEAD's answer has no body whatever it announces.
        let mut head = ResponseReader::new(true);
        let answer = head
            .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            (answer.status, answer.body.len(), answer.head.len()),
            (200, 0, 38)
        );
        let written = write_response(404, "text/plain", b"no", false);
        let mut reader = ResponseReader::new(false);
        let answer = reader.feed(&written).unwrap().unwrap();
        assert_eq!((answer.status, answer.body.as_slice()), (404, &b"no"[..]));
    }
}
