//! The two macros the model registry (`fields.rs`) is written with: `models!` declares every
//! model once (name, table names tried, variables) and writes [`Model`](super::Model) and
//! [`ModelSet`](super::ModelSet); `model_fields!` declares one model's fields.
//!
//! Expanded in `fields.rs`, where the names they use (`Model`, `ModelSet`, `ModelField`, …) are.

/// The models: `Variant: FieldType in set_field = "betterAuthName", tables [...], "TABLE_VAR",
/// "FIELDS_VAR";`, in detection order.
macro_rules! models {
    ($(
        $(#[$doc:meta])*
        $variant:ident: $field:ident in $key:ident = $name:literal,
        tables [$($table:literal),+ $(,)?], $table_var:literal, $fields_var:literal;
    )*) => {
        /// The Better Auth models we read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Model {
            $($(#[$doc])* $variant,)*
        }

        impl Model {
            /// Every model, in detection order.
            pub const ALL: &'static [Model] = &[$(Self::$variant),*];

            /// The model's name in Better Auth.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// Table names tried, in order, when none is configured.
            pub fn default_tables(self) -> &'static [&'static str] {
                match self { $(Self::$variant => &[$($table),+],)* }
            }

            /// The environment variable that names the table.
            pub fn table_variable(self) -> &'static str {
                match self { $(Self::$variant => $table_var,)* }
            }

            /// The environment variable that maps fields to columns.
            pub fn fields_variable(self) -> &'static str {
                match self { $(Self::$variant => $fields_var,)* }
            }
        }

        /// One value per model (its overrides, its resolved table, …), typed by the model's
        /// fields: `set.get::<UserField>()`, or the field named after the model.
        pub struct ModelSet<W: PerModel> {
            $(#[doc = concat!("`", $name, "`.")] pub $key: W::Of<$field>,)*
        }

        impl<W: PerModel> ModelSet<W> {
            /// Makes every model's entry, in registry order; the first error stops.
            pub fn try_build<B: BuildEach<W>>(builder: &mut B) -> Result<Self, B::Error> {
                Ok(Self { $($key: builder.build::<$field>()?,)* })
            }

            /// Shows every model's entry to `visitor`, in registry order.
            pub fn visit<V: VisitEach<W>>(&self, visitor: &mut V) {
                $(visitor.visit::<$field>(&self.$key);)*
            }

            /// The entry of the model whose fields are `F`.
            pub fn get<F: ModelField>(&self) -> &W::Of<F> {
                F::of(self)
            }

            /// The entry of the model whose fields are `F`, to change it.
            pub fn get_mut<F: ModelField>(&mut self) -> &mut W::Of<F> {
                F::of_mut(self)
            }
        }

        impl<W: PerModel> Clone for ModelSet<W>
        where
            $(W::Of<$field>: Clone,)*
        {
            fn clone(&self) -> Self {
                Self { $($key: self.$key.clone(),)* }
            }
        }

        impl<W: PerModel> Default for ModelSet<W>
        where
            $(W::Of<$field>: Default,)*
        {
            fn default() -> Self {
                Self { $($key: Default::default(),)* }
            }
        }

        impl<W: PerModel> PartialEq for ModelSet<W>
        where
            $(W::Of<$field>: PartialEq,)*
        {
            fn eq(&self, other: &Self) -> bool {
                true $(&& self.$key == other.$key)*
            }
        }

        impl<W: PerModel> Eq for ModelSet<W> where $(W::Of<$field>: Eq,)* {}

        impl<W: PerModel> std::fmt::Debug for ModelSet<W>
        where
            $(W::Of<$field>: std::fmt::Debug,)*
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("ModelSet")$(.field(stringify!($key), &self.$key))*.finish()
            }
        }

        $(
            impl Registered for $field {
                fn of<W: PerModel>(set: &ModelSet<W>) -> &W::Of<Self> {
                    &set.$key
                }
                fn of_mut<W: PerModel>(set: &mut ModelSet<W>) -> &mut W::Of<Self> {
                    &mut set.$key
                }
            }
        )*
    };
}

/// One model's fields: `Variant = "betterAuthName", Kind, required;`.
macro_rules! model_fields {
    ($(#[$doc:meta])* $ty:ident for $model:ident {
        $($(#[$vdoc:meta])* $variant:ident = $name:literal, $kind:ident, $required:literal;)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty {
            $($(#[$vdoc])* $variant,)*
        }

        impl ModelField for $ty {
            const MODEL: Model = Model::$model;
            const ALL: &'static [Self] = &[$(Self::$variant),*];
            fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }
            fn kind(self) -> Kind {
                match self { $(Self::$variant => Kind::$kind,)* }
            }
            fn required(self) -> bool {
                match self { $(Self::$variant => $required,)* }
            }
        }
    };
}
