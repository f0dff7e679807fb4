//! Enums stored as `text` columns: one list of spellings gives the Rust enum, its database
//! spelling both ways, and `ToSql`/`FromSql`, so SQL never compares a status against a literal
//! Rust wrote by hand and an unknown spelling read back is an error, not a guess.

/// Declares an enum whose variants are stored as the given strings.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }
    ) => {
        $(#[$meta])*
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The value with this stored spelling.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'a> tokio_postgres::types::FromSql<'a> for $name {
            fn from_sql(
                ty: &tokio_postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                let text = <&str as tokio_postgres::types::FromSql>::from_sql(ty, raw)?;
                $name::parse(text).ok_or_else(|| format!("{text:?} is not a {}", stringify!($name)).into())
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <&str as tokio_postgres::types::FromSql>::accepts(ty)
            }
        }

        impl tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <&str as tokio_postgres::types::ToSql>::accepts(ty)
            }

            tokio_postgres::types::to_sql_checked!();
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use tokio_postgres::types::{FromSql, ToSql, Type};

    use crate::models::{InvitationStatus, UserStatus};

    #[test]
    fn spellings_round_trip_and_unknown_ones_are_errors() {
        for status in InvitationStatus::ALL {
            let mut out = bytes::BytesMut::new();
            status.to_sql(&Type::TEXT, &mut out).unwrap();
            assert_eq!(InvitationStatus::from_sql(&Type::TEXT, &out).unwrap(), *status);
        }
        assert_eq!(UserStatus::from_sql(&Type::TEXT, b"active").unwrap(), UserStatus::Active);
        assert!(UserStatus::from_sql(&Type::TEXT, b"Active").is_err(), "no guessing at a spelling");
        assert!(!<UserStatus as FromSql>::accepts(&Type::INT4));
        assert_eq!(InvitationStatus::parse("revoked"), Some(InvitationStatus::Revoked));
    }
}
