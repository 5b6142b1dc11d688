//! The schema helpers and the harness: the stack over HTTP, every answer
//! checked against docs/openapi.json, and what each test exercised recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::Value;
use wadesk_tests::TestApp;

/// The document the local runner serves (it `include_str!`s the same file).
const DOC: &str = include_str!("../../../../docs/openapi.json");

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

pub(super) fn document() -> Value {
    serde_json::from_str(DOC).unwrap_or_else(|e| panic!("docs/openapi.json is not JSON: {e}"))
}

/// `(METHOD, path template)` of every operation in the document.
pub(super) fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for (key, _) in item.as_object().expect("a path item is an object") {
            if HTTP_METHODS.contains(&key.as_str()) {
                operations.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// Resolves a local `$ref` (`#/components/...`) in the document.
pub(super) fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local $refs are used: {reference}"));
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {reference} points at nothing"));
            resolve(doc, target)
        }
        None => value,
    }
}

/// Compiles `schema` (a schema object found anywhere in the document): its
/// `#/components/...` refs resolve against a root that carries the document's
/// components.
pub(super) fn try_compile(doc: &Value, schema: &Value) -> Result<jsonschema::Validator, String> {
    let mut root = schema.clone();
    root.as_object_mut()
        .ok_or_else(|| format!("schemas in the document are objects: {schema}"))?
        .insert("components".to_owned(), doc["components"].clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("schema does not compile: {e}\n{schema}"))
}

pub(super) fn compile(doc: &Value, schema: &Value) -> jsonschema::Validator {
    try_compile(doc, schema).unwrap_or_else(|e| panic!("{e}"))
}

/// Every error of `instance` against `validator`, one a line; empty when valid.
pub(super) fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> String {
    validator
        .iter_errors(instance)
        .map(|e| format!("  at {:?}: {e}", e.instance_path().to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Walks `value`, calling `visit` with each node and its JSON pointer.
pub(super) fn walk<'a>(value: &'a Value, pointer: &str, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(pointer, value);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                walk(child, &format!("{pointer}/{escaped}"), visit);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{pointer}/{i}"), visit);
            }
        }
        _ => {}
    }
}

/// The stack over HTTP, with every answer checked against the document.
pub(super) struct Contract {
    pub(super) app: TestApp,
    pub(super) doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// `(METHOD, template)` → statuses seen, outside setup.
    exercised: Mutex<BTreeMap<(String, String), BTreeSet<u16>>>,
    /// Open `Setup` guards: while any is, answers are checked but not recorded.
    setting_up: AtomicUsize,
}

/// While alive, the contract's calls are a test's setup: checked against the
/// document like any other, but not counted as what the test covers.
pub(super) struct Setup<'a>(&'a AtomicUsize);

impl Drop for Setup<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Contract {
    pub(super) async fn spawn() -> Self {
        Self {
            app: TestApp::spawn().await,
            doc: document(),
            validators: Mutex::new(HashMap::new()),
            exercised: Mutex::new(BTreeMap::new()),
            setting_up: AtomicUsize::new(0),
        }
    }

    pub(super) fn setup(&self) -> Setup<'_> {
        self.setting_up.fetch_add(1, Ordering::SeqCst);
        Setup(&self.setting_up)
    }

    /// A setup step (see `Setup`) that must answer `status`; answers the body.
    pub(super) async fn given(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let _setup = self.setup();
        self.expect(method, path, token, body, status).await
    }

    /// The operations this test called outside its setup are exactly
    /// `declared`: an area's declaration can neither claim an operation it
    /// never called nor leave out one it did.
    pub(super) fn covered_exactly(&self, declared: &[(&str, &str)]) {
        let declared: BTreeSet<(String, String)> = declared
            .iter()
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
            .collect();
        let exercised: BTreeSet<(String, String)> =
            self.exercised.lock().unwrap().keys().cloned().collect();
        let unexercised: Vec<_> = declared.difference(&exercised).collect();
        let undeclared: Vec<_> = exercised.difference(&declared).collect();
        assert!(
            unexercised.is_empty() && undeclared.is_empty(),
            "declared but never called: {unexercised:?}; called but not declared: {undeclared:?}"
        );
    }

    fn validator(&self, key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        cache
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(compile(&self.doc, schema)))
            .clone()
    }

    /// The documented path template `path` (without its query) matches; the
    /// one with the most literal segments wins.
    fn template_of(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, String)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let matches = parts.iter().zip(&segments).all(|(part, segment)| {
                if part.starts_with('{') && part.ends_with('}') {
                    !segment.is_empty()
                } else {
                    literal += usize::from(part == segment);
                    part == segment
                }
            });
            if matches && best.as_ref().is_none_or(|(score, _)| literal > *score) {
                best = Some((literal, template.clone()));
            }
        }
        best.map(|(_, template)| template)
    }

    /// A request to the runner, as `token`'s holder when there is one.
    fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.app.http.request(method, self.app.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and checks the answer against the document; answers the
    /// status and the body (JSON, or a string for other media types).
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        let mut request = self.request(method.clone(), path, token);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let media_type = media_type(&response);
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        let answer = self.check(
            &method,
            path,
            body.as_deref(),
            status,
            media_type.as_deref(),
            &text,
        );
        (status, answer)
    }

    fn check(
        &self,
        method: &Method,
        path: &str,
        request_body: Option<&str>,
        status: u16,
        media_type: Option<&str>,
        text: &str,
    ) -> Value {
        let (bare, query) = path.split_once('?').unwrap_or((path, ""));
        let template = self
            .template_of(bare)
            .unwrap_or_else(|| panic!("{method} {path}: no path of docs/openapi.json matches"));
        let operation = &self.doc["paths"][&template][method.as_str().to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template}: not in docs/openapi.json (answered {status}: {text})"
        );
        let what = format!("{method} {template}");
        if self.setting_up.load(Ordering::SeqCst) == 0 {
            self.exercised
                .lock()
                .unwrap()
                .entry((method.to_string(), template.clone()))
                .or_default()
                .insert(status);
        }

        // Query parameters must be documented.
        let parameters: Vec<&Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(&self.doc, p))
            .collect();
        let url =
            reqwest::Url::parse(&format!("http://localhost/?{query}")).expect("a query string");
        for (name, _) in url.query_pairs() {
            assert!(
                parameters
                    .iter()
                    .any(|p| p["in"] == "query" && p["name"] == name.as_ref()),
                "{what}: query parameter {name:?} is not documented"
            );
        }

        // The status must be documented, and the body must fit its schema.
        let responses = operation["responses"].as_object().expect("responses");
        let response = responses.get(&status.to_string()).unwrap_or_else(|| {
            panic!(
                "{what} answered {status}, which is not documented (documented: {:?}); body: {text}",
                responses.keys().collect::<Vec<_>>()
            )
        });
        let response = resolve(&self.doc, response);
        let answer = match response.get("content").and_then(Value::as_object) {
            None => {
                assert!(
                    text.is_empty(),
                    "{what} {status}: documented without a body, answered {text:?}"
                );
                Value::Null
            }
            Some(content) => {
                let media_type = media_type
                    .unwrap_or_else(|| panic!("{what} {status}: no content-type; body: {text}"));
                let range = format!("{}/*", media_type.split('/').next().unwrap_or_default());
                let documented = content
                    .get(media_type)
                    .or_else(|| content.get(&range))
                    .unwrap_or_else(|| {
                        panic!(
                            "{what} {status}: answered {media_type}, documented {:?}; body: {text}",
                            content.keys().collect::<Vec<_>>()
                        )
                    });
                let instance = if media_type == "application/json" {
                    serde_json::from_str(text)
                        .unwrap_or_else(|e| panic!("{what} {status}: not JSON ({e}): {text}"))
                } else {
                    Value::String(text.to_owned())
                };
                let key = format!("{what} {status} {media_type}");
                let validator = self.validator(&key, &documented["schema"]);
                let errors = schema_errors(&validator, &instance);
                assert!(
                    errors.is_empty(),
                    "{what} answered {status} with a body its documented schema refuses:\n{errors}\nbody: {}",
                    serde_json::to_string_pretty(&instance).unwrap_or_default()
                );
                instance
            }
        };

        // What the server accepted, the documented request schema accepts too.
        if (200..300).contains(&status) {
            if let (Some(body), Some(request_body)) = (request_body, operation.get("requestBody")) {
                let request_body = resolve(&self.doc, request_body);
                let schema = &request_body["content"]["application/json"]["schema"];
                let instance: Value =
                    serde_json::from_str(body).expect("request bodies here are JSON");
                let validator = self.validator(&format!("{what} request"), schema);
                let errors = schema_errors(&validator, &instance);
                assert!(
                    errors.is_empty(),
                    "{what} accepted a request body its documented request schema refuses:\n{errors}\nbody: {instance}"
                );
            }
        }
        answer
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.send(method, path, token, body.map(|b| b.to_string()), &[])
            .await
    }

    /// A call that must answer `status`; answers the body.
    pub(super) async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (got, answer) = self.call(method.clone(), path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        answer
    }

    /// As `expect`, for a 4xx with error `code`.
    pub(super) async fn expect_error(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: u16,
        code: &str,
    ) -> Value {
        let answer = self.expect(method.clone(), path, token, body, status).await;
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        answer
    }

    /// A browser's form post to an upload target (`POST /uploads`'s `url`,
    /// locally the runner's `POST /_local/uploads`): every field as given,
    /// then the file as `file`.
    pub(super) async fn post_form(
        &self,
        target: &Value,
        fields: &Value,
        file: &[u8],
    ) -> (u16, Value) {
        let boundary = "----wadeskOpenApiBoundary";
        let mut body = Vec::new();
        for (name, value) in fields.as_object().expect("fields") {
            let value = value.as_str().expect("a field is a string");
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = reqwest::Url::parse(target["url"].as_str().expect("a url")).expect("a URL");
        let response = self
            .app
            .http
            .post(url.clone())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status().as_u16();
        let media_type = media_type(&response);
        let text = response.text().await.unwrap_or_default();
        let answer = self.check(
            &Method::POST,
            url.path(),
            None,
            status,
            media_type.as_deref(),
            &text,
        );
        (status, answer)
    }

    /// `GET` of a message's `media_url`: the status, the content type and
    /// the length of the body.
    pub(super) async fn media(&self, url: &str, token: Option<&str>) -> (u16, String, usize) {
        let response = self
            .request(Method::GET, url, token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        let media_type = media_type(&response);
        let bytes = response.bytes().await.unwrap_or_default();
        // The check reads a file as text; only its length matters here.
        let text = if media_type.as_deref() == Some("application/json") {
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            "x".repeat(bytes.len())
        };
        self.check(
            &Method::GET,
            url,
            None,
            status,
            media_type.as_deref(),
            &text,
        );
        (status, media_type.unwrap_or_default(), bytes.len())
    }

    /// A signed webhook delivery, as WhatsApp makes it.
    pub(super) async fn webhook(&self, body: &Value) -> (u16, Value) {
        let raw = body.to_string();
        let signature = wadesk_whatsapp::signature::sign(
            self.app.settings.app_secret.as_bytes(),
            raw.as_bytes(),
        );
        self.send(
            Method::POST,
            "/webhook",
            None,
            Some(raw),
            &[("x-hub-signature-256", signature)],
        )
        .await
    }
}

pub(super) fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_str().expect("an id"))
        .collect()
}

/// An answer's media type, without its parameters (`charset`, `boundary`).
fn media_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
}
