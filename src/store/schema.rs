//! Table and column names. Better Auth's defaults are camelCase fields in singular tables;
//! apps remap them (`modelName`, `fields`, `usePlural`, Prisma/Drizzle snake_case), so every
//! name is derived here from one setting set, and introspection tells what the table really has.
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    User,
    Session,
    Jwks,
}

impl Table {
    pub fn model(self) -> &'static str {
        match self {
            Table::User => "user",
            Table::Session => "session",
            Table::Jwks => "jwks",
        }
    }

    /// Better Auth's field names, in schema order.
    pub fn core_fields(self) -> &'static [&'static str] {
        match self {
            Table::User => &[
                "id",
                "name",
                "email",
                "emailVerified",
                "image",
                "createdAt",
                "updatedAt",
            ],
            Table::Session => &[
                "id",
                "expiresAt",
                "token",
                "createdAt",
                "updatedAt",
                "ipAddress",
                "userAgent",
                "userId",
            ],
            Table::Jwks => &[
                "id",
                "publicKey",
                "privateKey",
                "createdAt",
                "expiresAt",
                "alg",
                "crv",
            ],
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaNames {
    /// Table overrides by model (`user`, `session`, `jwks`).
    pub tables: HashMap<String, String>,
    /// Column overrides, keyed `model.field` (e.g. `user.emailVerified`).
    pub columns: HashMap<String, String>,
    /// snake_case columns (`email_verified`), as Prisma/Drizzle setups often map them.
    pub snake_case: bool,
    /// Plural table names (`users`, `sessions`), like `usePlural: true`.
    pub plural: bool,
}

impl SchemaNames {
    pub fn table(&self, t: Table) -> String {
        if let Some(name) = self.tables.get(t.model()) {
            return name.clone();
        }
        match (self.plural, t) {
            (true, Table::Jwks) => "jwks".into(),
            (true, _) => format!("{}s", t.model()),
            (false, _) => t.model().into(),
        }
    }

    pub fn column(&self, t: Table, field: &str) -> String {
        if let Some(name) = self.columns.get(&format!("{}.{field}", t.model())) {
            return name.clone();
        }
        if self.snake_case {
            to_snake(field)
        } else {
            field.into()
        }
    }

    /// The Better Auth field name of an extra column (reverse of `column`), used as its JSON key.
    pub fn field_of(&self, t: Table, column: &str) -> String {
        let prefix = format!("{}.", t.model());
        for (k, v) in &self.columns {
            if v == column {
                if let Some(field) = k.strip_prefix(&prefix) {
                    return field.into();
                }
            }
        }
        if self.snake_case {
            to_camel(column)
        } else {
            column.into()
        }
    }
}

fn to_snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn to_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Double-quotes an identifier for SQL (both engines), doubling embedded quotes.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_better_auths() {
        let n = SchemaNames::default();
        assert_eq!(n.table(Table::User), "user");
        assert_eq!(n.column(Table::User, "emailVerified"), "emailVerified");
    }

    #[test]
    fn snake_plural_and_overrides() {
        let mut n = SchemaNames {
            snake_case: true,
            plural: true,
            ..Default::default()
        };
        assert_eq!(n.table(Table::Session), "sessions");
        assert_eq!(n.column(Table::Session, "expiresAt"), "expires_at");
        assert_eq!(
            n.field_of(Table::Session, "active_organization_id"),
            "activeOrganizationId"
        );
        n.tables.insert("user".into(), "app_users".into());
        n.columns
            .insert("user.emailVerified".into(), "verified".into());
        assert_eq!(n.table(Table::User), "app_users");
        assert_eq!(n.column(Table::User, "emailVerified"), "verified");
        assert_eq!(n.field_of(Table::User, "verified"), "emailVerified");
    }

    #[test]
    fn quoting_cannot_be_escaped() {
        assert_eq!(quote("user"), "\"user\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
