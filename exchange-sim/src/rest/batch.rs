//! `POST /api/v3/batchOrders`: up to 20 new orders of one symbol in one signed request, each
//! answered on its own (MEXC's documented shape: the order's ids, or its error).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::Reply;
use super::request::{Endpoint, RawRequest};
use super::trading::parse_new_order;
use crate::app::App;
use crate::error::ApiError;
use crate::params::Params;

const BATCH_ORDERS: Endpoint = Endpoint::new("POST /api/v3/batchOrders", 1);
/// Orders per batch (MEXC: 20).
const MAX_BATCH: usize = 20;

/// The orders of a `batchOrders` parameter: a JSON array of objects whose values are strings
/// or numbers.
fn batch_params(raw: &str) -> Result<Vec<Params>, ApiError> {
    let illegal = || ApiError::illegal_param("batchOrders");
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) else {
        return Err(illegal());
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            700008,
            format!("batchOrders takes 1 to {MAX_BATCH} orders"),
        ));
    }
    items
        .into_iter()
        .map(|item| {
            let Value::Object(fields) = item else {
                return Err(illegal());
            };
            let pairs = fields
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(s) => Ok((key, s)),
                    Value::Number(n) => Ok((key, n.to_string())),
                    _ => Err(illegal()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Params::from_pairs(pairs))
        })
        .collect()
}

pub(crate) async fn batch_orders(State(app): State<Arc<App>>, req: RawRequest) -> Reply {
    let signed = app.signed_request(&req, BATCH_ORDERS)?;
    signed.require_trading()?;
    let batch = batch_params(signed.params.required("batchOrders")?)?;
    let mut answers = Vec::with_capacity(batch.len());
    for params in &batch {
        let placed = parse_new_order(params).and_then(|request| {
            app.execute(|engine, now, out| engine.place(signed.account, &request, now, out))
        });
        answers.push(match placed {
            Ok(order) => {
                json!({ "symbol": order.symbol, "orderId": order.id(), "orderListId": -1 })
            }
            Err(error) => json!({
                "newClientOrderId": params.get("newClientOrderId"),
                "msg": error.msg,
                "code": error.code,
            }),
        });
    }
    Ok(Json(Value::Array(answers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_and_typed() {
        let one =
            r#"[{"symbol":"HIFIUSDT","side":"BUY","type":"LIMIT","quantity":"10","price":0.1}]"#;
        let parsed = batch_params(one).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].get("price"), Some("0.1"));
        let too_many = format!("[{}]", vec![r#"{"symbol":"A"}"#; MAX_BATCH + 1].join(","));
        for bad in ["", "{}", "[]", "[1]", r#"[{"a":[1]}]"#, too_many.as_str()] {
            assert_eq!(
                batch_params(bad).map(|_| ()).unwrap_err().code,
                700008,
                "{bad}"
            );
        }
    }
}
