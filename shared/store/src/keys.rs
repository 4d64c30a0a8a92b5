//! Key layout of the single table (see the crate docs) and input validation.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use opportunity::Model;

use crate::StoreError;

/// Table partition key attribute (S).
pub const PK: &str = "pk";
/// Table sort key attribute (S).
pub const SK: &str = "sk";
/// GSI `gsi1` partition key attribute: `WS#<workspace>#CUST#<customer id>` on opportunities.
pub const GSI1_PK: &str = "gsi1pk";
/// GSI `gsi1` sort key attribute: the opportunity's sort key.
pub const GSI1_SK: &str = "gsi1sk";
/// GSI `gsi2` partition key attribute: the constant `INTEGRATION` on integration items only.
pub const GSI2_PK: &str = "gsi2pk";
/// GSI `gsi2` sort key attribute: the workspace id on integration items.
pub const GSI2_SK: &str = "gsi2sk";
/// Index name of customer → opportunities (keys only).
pub const GSI1: &str = "gsi1";
/// Index name of all integrations (sparse, all attributes).
pub const GSI2: &str = "gsi2";
/// Index name of contact → opportunities, newest first (sparse, keys only; see `notes`).
pub const GSI3: &str = "gsi3";
/// GSI `gsi3` partition key attribute: the opportunity's `contactId`.
pub const GSI3_PK: &str = "contactId";
/// GSI `gsi3` sort key attribute: the opportunity's sortable `externalUpdatedAt`.
pub const GSI3_SK: &str = "externalUpdatedAt";
/// TTL attribute (epoch seconds, N) for items that expire (note claims, leases).
pub const TTL: &str = "ttl";
/// Item kind attribute (`integration`, `progress`, `contact`, `lookup`, `opportunity`).
pub const ENTITY: &str = "entity";

/// Sort key of the integration item.
pub const SK_INTEGRATION: &str = "INTEGRATION";
/// `gsi2pk` value of every integration item.
pub const GSI2_INTEGRATIONS: &str = "INTEGRATION";
/// Sort key prefix of contacts.
pub const SK_CONTACT: &str = "CONTACT#";
/// Sort key prefix of opportunities.
pub const SK_OPP: &str = "OPP#";

/// Longest accepted workspace id, in bytes.
pub const MAX_WORKSPACE_LEN: usize = 128;
/// Longest accepted external id / feed name / contact id, in bytes.
pub const MAX_ID_LEN: usize = 512;

/// Check a workspace id: non-empty, at most [`MAX_WORKSPACE_LEN`] bytes, no `#`, no whitespace
/// or control characters.
pub fn validate_workspace(workspace: &str) -> Result<(), StoreError> {
    let reason = if workspace.is_empty() {
        Some("must not be empty")
    } else if workspace.len() > MAX_WORKSPACE_LEN {
        Some("longer than 128 bytes")
    } else if workspace.contains('#') {
        Some("must not contain '#' (the key separator)")
    } else if workspace
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        Some("must not contain whitespace or control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidWorkspace {
            workspace: workspace.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Check an id that becomes the tail of a sort key (external id, feed name, contact id).
pub fn validate_id(workspace: &str, what: &'static str, value: &str) -> Result<(), StoreError> {
    let reason = if value.is_empty() {
        Some("must not be empty")
    } else if value.len() > MAX_ID_LEN {
        Some("longer than 512 bytes")
    } else if value.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidInput {
            workspace: workspace.to_owned(),
            what,
            value: value.chars().take(80).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

/// `WS#<workspace>`.
pub fn pk(workspace: &str) -> String {
    format!("WS#{workspace}")
}

/// `PROGRESS#<feed>`.
pub fn sk_progress(feed: &str) -> String {
    format!("PROGRESS#{feed}")
}

/// `CONTACT#<contact id>`.
pub fn sk_contact(contact_id: &str) -> String {
    format!("{SK_CONTACT}{contact_id}")
}

/// `EMAIL#<normalized email>`.
pub fn sk_email(email: &str) -> String {
    format!("EMAIL#{email}")
}

/// `PHONE#<E.164>`.
pub fn sk_phone(phone: &str) -> String {
    format!("PHONE#{phone}")
}

/// `CUST#<customer id>`.
pub fn sk_customer(customer_id: i64) -> String {
    format!("CUST#{customer_id}")
}

/// `OPP#<model>#` (list prefix of one model).
pub fn sk_opp_prefix(model: Model) -> String {
    format!("{SK_OPP}{}#", model.as_str())
}

/// `OPP#<model>#<external id>`.
pub fn sk_opp(model: Model, external_id: &str) -> String {
    format!("{SK_OPP}{}#{external_id}", model.as_str())
}

/// Parse `OPP#<model>#<external id>`.
pub fn parse_sk_opp(sk: &str) -> Option<(Model, String)> {
    let rest = sk.strip_prefix(SK_OPP)?;
    let (model, id) = rest.split_once('#')?;
    Some((model.parse().ok()?, id.to_owned()))
}

/// `WS#<workspace>#CUST#<customer id>` (gsi1pk of an opportunity).
pub fn gsi1pk(workspace: &str, customer_id: &str) -> String {
    format!("WS#{workspace}#CUST#{customer_id}")
}

/// A primary key map `{pk, sk}`.
pub fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk.to_owned())),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// `pk/sk`, for error messages and logs. E-mail and phone lookup keys are redacted
/// (`EMAIL#…`), so no personal data reaches a log through an error.
pub fn display(pk: &str, sk: &str) -> String {
    for prefix in ["EMAIL#", "PHONE#"] {
        if sk.starts_with(prefix) {
            return format!("{pk}/{prefix}…");
        }
    }
    format!("{pk}/{sk}")
}

/// A string attribute of an item.
pub fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_validation() {
        assert!(validate_workspace("ws-1").is_ok());
        for bad in ["", "a#b", "a b", "a\nb", &"x".repeat(129)] {
            assert!(validate_workspace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn personal_data_is_redacted_from_displayed_keys() {
        assert_eq!(display("WS#a", &sk_email("a@b.example")), "WS#a/EMAIL#…");
        assert_eq!(display("WS#a", &sk_phone("+12175550142")), "WS#a/PHONE#…");
        assert_eq!(display("WS#a", &sk_customer(7)), "WS#a/CUST#7");
    }

    #[test]
    fn opportunity_sort_key_round_trip() {
        let sk = sk_opp(Model::InboundCall, "12#3");
        assert_eq!(sk, "OPP#inbound_call#12#3");
        assert_eq!(
            parse_sk_opp(&sk),
            Some((Model::InboundCall, "12#3".to_owned()))
        );
        assert_eq!(parse_sk_opp("OPP#nope#1"), None);
    }
}
