//! Settings come in layers (flags and variables over the TOML file); `over` merges two of them.
//! The `layered!` macro writes the merge from the struct's own field list, so the settings are
//! listed once, in `cli::SettingsArgs`, and a new one cannot be forgotten by the merge.

/// One setting's value in one layer.
pub trait Layer {
    /// `self` where it is given, else `lower`.
    fn over(self, lower: Self) -> Self;
}

impl<T> Layer for Option<T> {
    fn over(self, lower: Self) -> Self {
        self.or(lower)
    }
}

/// A list is given when it has an entry: a non-empty list replaces the lower one whole.
impl<T> Layer for Vec<T> {
    fn over(self, lower: Self) -> Self {
        match self.is_empty() {
            true => lower,
            false => self,
        }
    }
}

/// Declares a struct of settings as written, plus `over`, which takes every field from `self`
/// where given there, else from `lower`.
macro_rules! layered {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident: $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $ty, )*
        }

        impl $name {
            /// Every setting of `self` where given there, else that of `lower`.
            pub fn over(self, lower: Self) -> Self {
                Self {
                    $( $field: $crate::config::layer::Layer::over(self.$field, lower.$field), )*
                }
            }
        }
    };
}
pub(crate) use layered;

#[cfg(test)]
mod tests {
    use super::Layer;

    #[test]
    fn a_given_value_wins_and_an_absent_one_falls_through() {
        assert_eq!(Some(1).over(Some(2)), Some(1));
        assert_eq!(None.over(Some(2)), Some(2));
        assert_eq!(
            Some(String::new()).over(Some("file".into())),
            Some(String::new())
        );
        assert_eq!(vec![1].over(vec![2, 3]), vec![1]);
        assert_eq!(Vec::<u8>::new().over(vec![2, 3]), vec![2, 3]);
    }
}
