//! A small IAM evaluator, and how AWS authorizes the requests wadesk makes.
//!
//! [`authorizations`] turns one request (as it reaches the endpoint) into the
//! `(action, resource, context)` triples AWS checks for it: one per item of a
//! `TransactWriteItems` (`dynamodb:PutItem`, `UpdateItem`, `DeleteItem`,
//! `ConditionCheckItem`; there is no `dynamodb:TransactWriteItems` action),
//! one per table of a batch, one per entry's bus of a `PutEvents`,
//! `iam:PassRole` on the role a new schedule's target names, and S3's REST
//! object requests as the SDK sends them path-style to moto (`PUT` →
//! `s3:PutObject`, `GET`/`HEAD` → `s3:GetObject`, `DELETE` →
//! `s3:DeleteObject` on `arn:aws:s3:::bucket/key`; a list → `s3:ListBucket`
//! on `arn:aws:s3:::bucket`). Anything else it does not model is an error,
//! which the proxy refuses rather than waves through.
//!
//! [`evaluate`] decides one triple against an identity policy: `Allow`
//! statements with `Action`/`NotAction` and `Resource`/`NotResource` patterns
//! (`*` and `?`; actions compared without case), an explicit `Deny` wins,
//! nothing allowed is an implicit deny. Conditions: the string and ARN
//! operators on the context keys the request supplies; a condition it cannot
//! evaluate (another operator, a key the request does not carry) is taken
//! conservatively: it does not let an `Allow` apply, and it does let a `Deny`
//! apply. No resource policies, permission boundaries, SCPs or session
//! policies: the functions' roles have none.

use std::collections::BTreeMap;

use serde_json::Value;

/// One thing AWS authorizes: an action on a resource, in a context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Authorization {
    pub action: String,
    pub resource: String,
    pub context: BTreeMap<String, String>,
}

impl Authorization {
    fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    fn with(mut self, key: &str, value: &str) -> Self {
        self.context.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// The outcome for one [`Authorization`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// A `Deny` statement applies (its `Sid`, or its position).
    ExplicitDeny(String),
    /// No `Allow` applies; what kept the closest ones from applying.
    ImplicitDeny(String),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

/// Decides `request` against one identity policy document.
pub fn evaluate(policy: &Value, request: &Authorization) -> Decision {
    let mut allowed = false;
    let mut notes = Vec::new();
    for (n, statement) in statements(policy).iter().enumerate() {
        let name = statement["Sid"]
            .as_str()
            .map_or_else(|| format!("statement {n}"), str::to_owned);
        if !matches_element(statement, "Action", "NotAction", &request.action, false) {
            continue;
        }
        if !matches_element(
            statement,
            "Resource",
            "NotResource",
            &request.resource,
            true,
        ) {
            continue;
        }
        let deny = statement["Effect"].as_str() == Some("Deny");
        match conditions(statement, &request.context) {
            Conditions::Met => {}
            Conditions::NotMet => continue,
            Conditions::Unevaluable(why) => {
                if deny {
                    return Decision::ExplicitDeny(format!(
                        "{name} (condition taken to apply: {why})"
                    ));
                }
                notes.push(format!(
                    "{name}: condition not evaluated ({why}), so not applied"
                ));
                continue;
            }
        }
        if deny {
            return Decision::ExplicitDeny(name);
        }
        allowed = true;
    }
    if allowed {
        Decision::Allowed
    } else if notes.is_empty() {
        Decision::ImplicitDeny("no statement allows it".into())
    } else {
        Decision::ImplicitDeny(notes.join("; "))
    }
}

fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn matches_element(
    statement: &Value,
    positive: &str,
    negative: &str,
    value: &str,
    case_sensitive: bool,
) -> bool {
    let any = |key: &str| {
        strings(&statement[key])
            .iter()
            .any(|pattern| glob(pattern, value, case_sensitive))
    };
    if statement.get(positive).is_some() {
        any(positive)
    } else if statement.get(negative).is_some() {
        !any(negative)
    } else {
        false
    }
}

/// IAM's wildcards: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, value: &str, case_sensitive: bool) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = if case_sensitive {
        (pattern.chars().collect(), value.chars().collect())
    } else {
        (
            pattern.to_lowercase().chars().collect(),
            value.to_lowercase().chars().collect(),
        )
    };
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

enum Conditions {
    Met,
    NotMet,
    Unevaluable(String),
}

fn conditions(statement: &Value, context: &BTreeMap<String, String>) -> Conditions {
    let Some(block) = statement.get("Condition").and_then(Value::as_object) else {
        return Conditions::Met;
    };
    for (operator, keys) in block {
        let Some(keys) = keys.as_object() else {
            return Conditions::Unevaluable(format!("{operator} is not a map"));
        };
        for (key, expected) in keys {
            let actual = context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str());
            let Some(actual) = actual else {
                return Conditions::Unevaluable(format!(
                    "the request carries no {key} for {operator}"
                ));
            };
            let expected = strings(expected);
            let met = match operator.as_str() {
                "StringEquals" | "ArnEquals" => expected.iter().any(|e| e == actual),
                "StringEqualsIgnoreCase" => expected.iter().any(|e| e.eq_ignore_ascii_case(actual)),
                "StringNotEquals" | "ArnNotEquals" => expected.iter().all(|e| e != actual),
                "StringLike" | "ArnLike" => expected.iter().any(|e| glob(e, actual, true)),
                "StringNotLike" | "ArnNotLike" => expected.iter().all(|e| !glob(e, actual, true)),
                "Bool" => expected.iter().any(|e| e.eq_ignore_ascii_case(actual)),
                other => {
                    return Conditions::Unevaluable(format!("operator {other} is not modelled"))
                }
            };
            if !met {
                return Conditions::NotMet;
            }
        }
    }
    Conditions::Met
}

/// A request as it reaches the endpoint.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    /// The path, percent-encoded as sent.
    pub path: &'a str,
    pub query: &'a str,
    /// `X-Amz-Target` (JSON protocols).
    pub target: Option<&'a str>,
    /// The signing service of the request (`s3`, `scheduler`, ...).
    pub service: &'a str,
    /// The request's headers, names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The signing region of the request.
    pub region: &'a str,
    pub account: &'a str,
}

/// What AWS authorizes for `request`, or why this module cannot tell (a
/// request it does not model is refused by the proxy, not waved through).
pub fn authorizations(request: &RawRequest<'_>) -> Result<Vec<Authorization>, String> {
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(request.body).unwrap_or(Value::Null)
    };
    let arn = |service: &str, resource: &str| {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            request.region, request.account
        )
    };
    let table = |name: &Value| -> Result<String, String> {
        let name = name.as_str().ok_or("no TableName")?;
        Ok(if name.starts_with("arn:") {
            name.to_owned()
        } else {
            arn("dynamodb", &format!("table/{name}"))
        })
    };
    if request.service == "s3" {
        return s3(request);
    }
    if let Some(target) = request.target {
        let (prefix, operation) = target.split_once('.').ok_or("odd X-Amz-Target")?;
        return match prefix {
            "DynamoDB_20120810" => dynamodb(operation, &body, &table),
            "DynamoDBStreams_20120810" => {
                let resource = body["StreamArn"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        body["TableName"]
                            .as_str()
                            .map(|t| arn("dynamodb", &format!("table/{t}/stream/*")))
                    })
                    // GetRecords names only its iterator, which is opaque:
                    // the stream's own pattern, to match a policy on streams.
                    .unwrap_or_else(|| arn("dynamodb", "table/*/stream/*"));
                Ok(vec![Authorization::new(
                    format!("dynamodb:{operation}"),
                    resource,
                )])
            }
            "AWSEvents" => {
                if operation != "PutEvents" {
                    return Err(format!("EventBridge {operation} is not modelled"));
                }
                let mut out = Vec::new();
                for entry in body["Entries"].as_array().into_iter().flatten() {
                    let bus = entry["EventBusName"].as_str().unwrap_or("default");
                    let bus = if bus.starts_with("arn:") {
                        bus.to_owned()
                    } else {
                        arn("events", &format!("event-bus/{bus}"))
                    };
                    out.push(Authorization::new("events:PutEvents", bus));
                }
                out.sort();
                out.dedup();
                Ok(out)
            }
            "AmazonSQS" => {
                let url = body["QueueUrl"].as_str().ok_or("no QueueUrl")?;
                let mut parts = url.trim_end_matches('/').rsplit('/');
                let name = parts.next().ok_or("odd QueueUrl")?;
                let account = parts.next().ok_or("odd QueueUrl")?;
                let action = match operation {
                    // SendMessageBatch is authorized as SendMessage.
                    "SendMessageBatch" => "SendMessage",
                    other => other,
                };
                Ok(vec![Authorization::new(
                    format!("sqs:{action}"),
                    format!("arn:aws:sqs:{}:{account}:{name}", request.region),
                )])
            }
            other => Err(format!("{other}.{operation} is not modelled")),
        };
    }
    let segments: Vec<String> = request
        .path
        .trim_start_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    if segments.len() == 2 && segments[0] == "schedules" {
        let query_group = request.query.split('&').find_map(|pair| {
            pair.strip_prefix("groupName=").map(|g| {
                percent_encoding::percent_decode_str(g)
                    .decode_utf8_lossy()
                    .into_owned()
            })
        });
        let group = body["GroupName"]
            .as_str()
            .map(str::to_owned)
            .or(query_group)
            .unwrap_or_else(|| "default".into());
        let action = match request.method {
            "POST" => "CreateSchedule",
            "PUT" => "UpdateSchedule",
            "DELETE" => "DeleteSchedule",
            "GET" => "GetSchedule",
            other => return Err(format!("Scheduler {other} is not modelled")),
        };
        let mut out = vec![Authorization::new(
            format!("scheduler:{action}"),
            arn("scheduler", &format!("schedule/{group}/{}", segments[1])),
        )];
        // Creating or updating a schedule hands its target's role to Scheduler.
        if let Some(role) = body["Target"]["RoleArn"].as_str() {
            out.push(
                Authorization::new("iam:PassRole", role)
                    .with("iam:PassedToService", "scheduler.amazonaws.com"),
            );
        }
        return Ok(out);
    }
    Err(format!(
        "{} {} is not modelled",
        request.method, request.path
    ))
}

/// Query parameters, decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// A presigned request's own parameters (the signature in the query).
fn presigning(key: &str) -> bool {
    key.to_ascii_lowercase().starts_with("x-amz-")
}

/// S3's REST authorization for the requests wadesk's adapter makes,
/// path-style (`/bucket/key`, as the SDK addresses moto): object reads,
/// writes and deletes, and a bucket's listing. A subresource (`?acl`,
/// `?tagging`, `?uploads`, `?delete`, ...), a copy, a multipart upload, a
/// form `POST` or a bucket operation other than a listing is not modelled:
/// an error, refused by the proxy.
fn s3(request: &RawRequest<'_>) -> Result<Vec<Authorization>, String> {
    let path = request.path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let (bucket, key) = (decode(bucket), decode(key));
    if bucket.is_empty() {
        return Err(format!(
            "S3 {} / (no bucket) is not modelled",
            request.method
        ));
    }
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let query = query_pairs(request.query);
    let unknown = |allowed: &dyn Fn(&str) -> bool| {
        query
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| !allowed(k) && !presigning(k))
            .map(str::to_owned)
    };
    if key.is_empty() {
        // A bucket: only its listing (ListObjects, ListObjectsV2).
        const LISTING: &[&str] = &[
            "list-type",
            "prefix",
            "delimiter",
            "max-keys",
            "continuation-token",
            "start-after",
            "encoding-type",
            "fetch-owner",
            "marker",
            "x-id",
        ];
        if request.method != "GET" {
            return Err(format!(
                "S3 {} on bucket {bucket} is not modelled",
                request.method
            ));
        }
        if let Some(other) = unknown(&|k| LISTING.contains(&k)) {
            return Err(format!(
                "S3 GET on bucket {bucket} with ?{other} is not modelled"
            ));
        }
        let mut listing = Authorization::new("s3:ListBucket", format!("arn:aws:s3:::{bucket}"));
        for (name, context) in [
            ("prefix", "s3:prefix"),
            ("delimiter", "s3:delimiter"),
            ("max-keys", "s3:max-keys"),
        ] {
            if let Some((_, value)) = query.iter().find(|(k, _)| k == name) {
                listing = listing.with(context, value);
            }
        }
        return Ok(vec![listing]);
    }
    let (action, operations): (&str, &[&str]) = match request.method {
        "PUT" => ("s3:PutObject", &["PutObject"]),
        "GET" => ("s3:GetObject", &["GetObject"]),
        "HEAD" => ("s3:GetObject", &["HeadObject"]),
        "DELETE" => ("s3:DeleteObject", &["DeleteObject"]),
        other => return Err(format!("S3 {other} on an object is not modelled")),
    };
    let overrides = request.method == "GET";
    if let Some(other) = unknown(&|k| k == "x-id" || (overrides && k.starts_with("response-"))) {
        return Err(format!(
            "S3 {} of an object with ?{other} is not modelled",
            request.method
        ));
    }
    if let Some((_, id)) = query.iter().find(|(k, _)| k == "x-id") {
        if !operations.contains(&id.as_str()) {
            return Err(format!(
                "S3 {} with x-id={id} is not modelled",
                request.method
            ));
        }
    }
    // A copy also reads its source; an ACL or tags are their own actions.
    for name in ["x-amz-copy-source", "x-amz-acl", "x-amz-tagging"] {
        if header(name).is_some() && request.method == "PUT" {
            return Err(format!("S3 PUT with {name} is not modelled"));
        }
    }
    let mut authorization = Authorization::new(action, format!("arn:aws:s3:::{bucket}/{key}"));
    if request.method == "PUT" {
        if let Some(sse) = header("x-amz-server-side-encryption") {
            authorization = authorization.with("s3:x-amz-server-side-encryption", sse);
        }
    }
    Ok(vec![authorization])
}

fn dynamodb(
    operation: &str,
    body: &Value,
    table: &dyn Fn(&Value) -> Result<String, String>,
) -> Result<Vec<Authorization>, String> {
    let mut out = Vec::new();
    match operation {
        "TransactWriteItems" => {
            for item in body["TransactItems"].as_array().into_iter().flatten() {
                let (kind, inner) = item
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or("an empty transaction item")?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => return Err(format!("transaction item {other}")),
                };
                out.push(
                    Authorization::new(format!("dynamodb:{action}"), table(&inner["TableName"])?)
                        .with("dynamodb:EnclosingOperation", "TransactWriteItems"),
                );
            }
        }
        "TransactGetItems" => {
            for item in body["TransactItems"].as_array().into_iter().flatten() {
                out.push(
                    Authorization::new("dynamodb:GetItem", table(&item["Get"]["TableName"])?)
                        .with("dynamodb:EnclosingOperation", "TransactGetItems"),
                );
            }
        }
        "BatchGetItem" | "BatchWriteItem" => {
            for name in body["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                out.push(Authorization::new(
                    format!("dynamodb:{operation}"),
                    table(&Value::String(name.clone()))?,
                ));
            }
        }
        _ => {
            let mut resource = table(&body["TableName"])?;
            if let Some(index) = body["IndexName"].as_str() {
                resource = format!("{resource}/index/{index}");
            }
            out.push(Authorization::new(
                format!("dynamodb:{operation}"),
                resource,
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The copy of `policy` moto's server is given, and why it differs:
///
/// - moto authorizes DynamoDB, EventBridge and Scheduler requests against the
///   resource `*` (it determines no resource for them), so a statement naming
///   the table or the bus would never match there: every statement's
///   resources become `*`. Resources are checked by the proxy in front, on
///   the real policy.
/// - moto authorizes a transaction as one action, `dynamodb:TransactWriteItems`
///   (`TransactGetItems`), which IAM does not have (AWS checks each item's
///   own action, as the proxy does): it is added when the policy allows any
///   of the item actions, so moto lets through what the proxy has checked.
pub fn moto_policy(policy: &Value) -> Value {
    let mut statements = statements(policy);
    let allows_action = |action: &str| {
        statements.iter().any(|s| {
            s["Effect"] == "Allow" && matches_element(s, "Action", "NotAction", action, false)
        })
    };
    let writes = ["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"]
        .iter()
        .any(|a| allows_action(&format!("dynamodb:{a}")));
    let reads = allows_action("dynamodb:GetItem");
    for statement in &mut statements {
        if let Some(object) = statement.as_object_mut() {
            object.remove("NotResource");
            object.insert("Resource".into(), Value::String("*".into()));
        }
    }
    let mut extra = Vec::new();
    if writes {
        extra.push("dynamodb:TransactWriteItems");
    }
    if reads {
        extra.push("dynamodb:TransactGetItems");
    }
    if !extra.is_empty() {
        statements.push(serde_json::json!({
            "Sid": "MotoTransactions",
            "Effect": "Allow",
            "Action": extra,
            "Resource": "*",
        }));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(action: &str, resource: &str) -> Authorization {
        Authorization::new(action, resource)
    }

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/t";

    #[test]
    fn wildcards_case_and_explicit_deny() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": [TABLE, format!("{TABLE}/index/*")]},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*", "Sid": "NoDelete"},
        ]});
        assert!(evaluate(&policy, &request("DynamoDB:putitem", TABLE)).allowed());
        assert!(evaluate(&policy, &request("dynamodb:Query", TABLE)) != Decision::Allowed);
        assert!(!evaluate(&policy, &request("dynamodb:GetItem", &format!("{TABLE}2"))).allowed());
        assert_eq!(
            evaluate(&policy, &request("dynamodb:DeleteItem", TABLE)),
            Decision::ExplicitDeny("NoDelete".into())
        );
    }

    #[test]
    fn a_condition_it_cannot_evaluate_never_allows() {
        let policy = json!({"Statement": [{
            "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
        }]});
        let role = "arn:aws:iam::123456789012:role/r";
        assert!(!evaluate(&policy, &request("iam:PassRole", role)).allowed());
        let passed =
            request("iam:PassRole", role).with("iam:PassedToService", "scheduler.amazonaws.com");
        assert!(evaluate(&policy, &passed).allowed());
        let elsewhere =
            request("iam:PassRole", role).with("iam:PassedToService", "ec2.amazonaws.com");
        assert!(!evaluate(&policy, &elsewhere).allowed());
    }

    #[test]
    fn a_transaction_is_authorized_item_by_item() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {}}},
            {"Delete": {"TableName": "t", "Key": {}}},
            {"ConditionCheck": {"TableName": "t", "Key": {}}},
        ]})
        .to_string();
        let raw = RawRequest {
            method: "POST",
            path: "/",
            query: "",
            target: Some("DynamoDB_20120810.TransactWriteItems"),
            service: "dynamodb",
            headers: &[],
            body: body.as_bytes(),
            region: "us-east-1",
            account: "123456789012",
        };
        let actions: Vec<String> = authorizations(&raw)
            .unwrap()
            .into_iter()
            .map(|a| format!("{} {}", a.action, a.resource))
            .collect();
        assert_eq!(
            actions,
            [
                format!("dynamodb:ConditionCheckItem {TABLE}"),
                format!("dynamodb:DeleteItem {TABLE}"),
                format!("dynamodb:PutItem {TABLE}"),
            ]
        );
    }

    fn s3_request(method: &str, path: &str, query: &str) -> Result<Vec<String>, String> {
        let raw = RawRequest {
            method,
            path,
            query,
            target: None,
            service: "s3",
            headers: &[],
            body: b"",
            region: "us-east-1",
            account: "123456789012",
        };
        authorizations(&raw).map(|list| {
            list.into_iter()
                .map(|a| format!("{} {}", a.action, a.resource))
                .collect()
        })
    }

    #[test]
    fn s3_object_requests_are_authorized_on_the_object_and_the_rest_refused() {
        let object = "arn:aws:s3:::b/inbound/c/m%20x";
        for (method, query, action) in [
            ("PUT", "x-id=PutObject", "s3:PutObject"),
            ("GET", "x-id=GetObject", "s3:GetObject"),
            ("HEAD", "", "s3:GetObject"),
            ("DELETE", "x-id=DeleteObject", "s3:DeleteObject"),
        ] {
            assert_eq!(
                s3_request(method, "/b/inbound/c/m%2520x", query).unwrap(),
                [format!("{action} {object}")],
                "{method}"
            );
        }
        // A presigned GET with response overrides reads the object.
        assert_eq!(
            s3_request(
                "GET",
                "/b/uploads/k",
                "response-content-type=image%2Fpng&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=K%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&x-id=GetObject"
            )
            .unwrap(),
            ["s3:GetObject arn:aws:s3:::b/uploads/k"]
        );
        assert_eq!(
            s3_request("GET", "/b", "list-type=2&prefix=inbound%2F").unwrap(),
            ["s3:ListBucket arn:aws:s3:::b"]
        );
        for (method, path, query) in [
            ("GET", "/b/k", "acl"),
            ("PUT", "/b/k", "tagging"),
            ("POST", "/b/k", "uploads"),
            ("POST", "/b", "delete"),
            ("PUT", "/b", ""),
            ("GET", "/b", "location"),
            ("GET", "/", ""),
            ("GET", "/b/k", "x-id=PutObject"),
        ] {
            assert!(
                s3_request(method, path, query).is_err(),
                "{method} {path}?{query} is not modelled"
            );
        }
    }

    #[test]
    fn the_moto_copy_widens_resources_and_names_transactions() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": TABLE},
        ]});
        let moto = moto_policy(&policy);
        assert_eq!(moto["Statement"][0]["Resource"], "*");
        assert_eq!(
            moto["Statement"][1]["Action"],
            json!(["dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"])
        );
        assert!(moto_policy(&json!({"Statement": []}))["Statement"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
