//! Typed custom headers: one struct per RocketMQ `*RequestHeader`/`*ResponseHeader`, each
//! converting to and from a command's `extFields`.
//!
//! Values are strings on the wire: integers in decimal, booleans `"true"`/`"false"` (read
//! case-insensitively, anything else is false, like `Boolean.parseBoolean`). Required fields
//! (`@CFNotNull` in Java) fail with [`ProtocolError::MissingField`] naming the key; optional
//! ones are `Option`s; primitive Java booleans are always written and read as false when absent.
//! Files are split by request family.

pub mod admin;
pub mod consumer;
pub mod namesrv;
pub mod offset;
pub mod pull;
pub mod query;
pub mod send;

use super::error::{ProtocolError, Result};
use super::frame::ExtFields;

/// A typed view of a command's custom header fields.
pub trait CommandHeader: Sized {
    /// The extFields this header writes.
    fn to_ext_fields(&self) -> ExtFields;
    /// Reads the header from extFields, tolerating absent optional fields and extra keys.
    fn from_ext_fields(ext: &ExtFields) -> Result<Self>;
}

/// A value type that can sit in an ext field.
pub trait FieldValue: Sized {
    /// Parses the wire string; `None` if it is not a valid value.
    fn parse_field(raw: &str) -> Option<Self>;
    /// The wire string.
    fn render_field(&self) -> String;
}

impl FieldValue for String {
    fn parse_field(raw: &str) -> Option<Self> {
        Some(raw.to_owned())
    }
    fn render_field(&self) -> String {
        self.clone()
    }
}

impl FieldValue for bool {
    fn parse_field(raw: &str) -> Option<Self> {
        Some(raw.trim().eq_ignore_ascii_case("true"))
    }
    fn render_field(&self) -> String {
        self.to_string()
    }
}

macro_rules! numeric_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn parse_field(raw: &str) -> Option<Self> {
                raw.trim().parse().ok()
            }
            fn render_field(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
numeric_field!(i32, i64);

/// Reads a required field.
pub fn required<T: FieldValue>(
    ext: &ExtFields,
    header: &'static str,
    field: &'static str,
) -> Result<T> {
    match ext.get(field) {
        None => Err(ProtocolError::MissingField { header, field }),
        Some(raw) => T::parse_field(raw).ok_or_else(|| ProtocolError::InvalidField {
            header,
            field,
            value: raw.clone(),
        }),
    }
}

/// Reads an optional field; present but unparsable is still an error.
pub fn optional<T: FieldValue>(
    ext: &ExtFields,
    header: &'static str,
    field: &'static str,
) -> Result<Option<T>> {
    match ext.get(field) {
        None => Ok(None),
        Some(raw) => T::parse_field(raw)
            .map(Some)
            .ok_or_else(|| ProtocolError::InvalidField {
                header,
                field,
                value: raw.clone(),
            }),
    }
}

/// Reads a primitive Java boolean: absent means false.
pub fn flag(ext: &ExtFields, field: &'static str) -> bool {
    ext.get(field)
        .is_some_and(|raw| raw.trim().eq_ignore_ascii_case("true"))
}

/// Declares a header struct and its [`CommandHeader`] impl from `field: kind Type = "key"`
/// lines. Kinds: `req` (required), `opt` (optional, `Option<Type>`), `flag` (Java primitive
/// boolean: always written, false when absent).
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident $ty:ty = $key:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: command_header!(@ty $kind $ty), )*
        }

        impl $crate::protocol::header::CommandHeader for $name {
            #[allow(unused_mut)]
            fn to_ext_fields(&self) -> $crate::protocol::frame::ExtFields {
                // Each key is a distinct literal: pushed, not looked up.
                let mut ext = $crate::protocol::frame::ExtFields::default();
                $( command_header!(@put $kind ext, $key, self.$field); )*
                ext
            }

            #[allow(unused_variables)]
            fn from_ext_fields(
                ext: &$crate::protocol::frame::ExtFields,
            ) -> $crate::protocol::error::Result<Self> {
                Ok(Self {
                    $( $field: command_header!(@get $kind ext, stringify!($name), $key, $ty), )*
                })
            }
        }
    };
    (@ty req $ty:ty) => { $ty };
    (@ty opt $ty:ty) => { Option<$ty> };
    (@ty flag $ty:ty) => { $ty };
    (@put req $ext:ident, $key:literal, $value:expr) => {
        $ext.push($key.to_owned(), $crate::protocol::header::FieldValue::render_field(&$value));
    };
    (@put opt $ext:ident, $key:literal, $value:expr) => {
        if let Some(v) = &$value {
            $ext.push($key.to_owned(), $crate::protocol::header::FieldValue::render_field(v));
        }
    };
    (@put flag $ext:ident, $key:literal, $value:expr) => {
        $ext.push($key.to_owned(), $crate::protocol::header::FieldValue::render_field(&$value));
    };
    (@get req $ext:ident, $header:expr, $key:literal, $ty:ty) => {
        $crate::protocol::header::required::<$ty>($ext, $header, $key)?
    };
    (@get opt $ext:ident, $header:expr, $key:literal, $ty:ty) => {
        $crate::protocol::header::optional::<$ty>($ext, $header, $key)?
    };
    (@get flag $ext:ident, $header:expr, $key:literal, $ty:ty) => {
        $crate::protocol::header::flag($ext, $key)
    };
}
pub(crate) use command_header;

/// The header of commands that carry no custom fields (most admin responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmptyHeader;

impl CommandHeader for EmptyHeader {
    fn to_ext_fields(&self) -> ExtFields {
        ExtFields::default()
    }
    fn from_ext_fields(_ext: &ExtFields) -> Result<Self> {
        Ok(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_parsing_follows_java() {
        assert_eq!(bool::parse_field("TRUE"), Some(true));
        assert_eq!(bool::parse_field("yes"), Some(false));
        assert_eq!(i64::parse_field("-12"), Some(-12));
        assert_eq!(i32::parse_field("x"), None);
    }

    #[test]
    fn missing_and_invalid_fields_are_named() {
        let mut ext = ExtFields::default();
        let missing = required::<i32>(&ext, "H", "queueId");
        assert!(matches!(
            missing,
            Err(ProtocolError::MissingField {
                header: "H",
                field: "queueId"
            })
        ));
        ext.insert("queueId".into(), "one".into());
        let invalid = optional::<i32>(&ext, "H", "queueId");
        assert!(matches!(
            invalid,
            Err(ProtocolError::InvalidField {
                field: "queueId",
                ..
            })
        ));
    }
}
