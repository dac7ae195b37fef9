//! How forgiving validation is: [`ValidationMode`] presets and the individual
//! [`ValidationOptions`] knobs.

/// The two validation presets.
///
/// * [`Strict`](ValidationMode::Strict) applies RFC 7643 / RFC 7644 to the letter: unknown
///   attributes, values outside `canonicalValues`, `"True"` for a boolean, a bare value for a
///   multi-valued attribute and an inconsistent `schemas` list are all 400 errors with the
///   RFC 7644 §3.12 `scimType`.
/// * [`Lenient`](ValidationMode::Lenient) (the **default**) accepts what real provisioning
///   clients are known to send (Microsoft Entra ID, Okta; see Microsoft's "Known issues and
///   resolutions with SCIM 2.0 protocol compliance"): it drops unknown attributes, coerces
///   `"True"` / `"False"`, wraps and unwraps single values, and repairs `schemas`. It never
///   invents data, never turns a body that declares another resource type into this one, and
///   never accepts a value of the wrong type that it cannot convert losslessly (a number sent
///   as a string stays an error).
///
/// Both presets require what the schema marks `required`, refuse an empty `userName`, and
/// check binary and dateTime values the same way.
///
/// A preset parses from and prints as `strict` / `lenient` (for a command-line flag such as
/// `--validation strict`):
///
/// ```
/// use scim_core::validation::ValidationMode;
///
/// let mode: ValidationMode = "Strict".parse().unwrap();
/// assert_eq!(mode, ValidationMode::Strict);
/// assert_eq!(ValidationMode::Lenient.to_string(), "lenient");
/// assert!("sloppy".parse::<ValidationMode>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ValidationMode {
    /// Reject everything the RFCs do not allow.
    Strict,
    /// Accept and repair the common client deviations (the default).
    #[default]
    Lenient,
}

impl ValidationMode {
    /// The preset's name: `strict` or `lenient`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationMode::Strict => "strict",
            ValidationMode::Lenient => "lenient",
        }
    }
}

impl std::fmt::Display for ValidationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is neither `strict` nor `lenient`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown validation preset {0:?}: expected \"strict\" or \"lenient\"")]
pub struct UnknownValidationMode(pub String);

impl std::str::FromStr for ValidationMode {
    type Err = UnknownValidationMode;

    /// `strict` or `lenient`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("strict") {
            Ok(ValidationMode::Strict)
        } else if s.eq_ignore_ascii_case("lenient") {
            Ok(ValidationMode::Lenient)
        } else {
            Err(UnknownValidationMode(s.to_owned()))
        }
    }
}

/// Individually switchable validation rules. Start from a preset
/// ([`ValidationOptions::strict`], [`ValidationOptions::lenient`] or `Default`, which is
/// lenient) and adjust fields.
///
/// ```
/// use scim_core::validation::{ValidationMode, ValidationOptions};
///
/// let mut options = ValidationOptions::strict();
/// // Strict, except that Entra's "True"/"False" strings are accepted as booleans.
/// options.coerce_string_booleans = true;
/// assert!(options.reject_unknown_attributes);
/// assert_eq!(ValidationOptions::default(), ValidationOptions::new(ValidationMode::Lenient));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// An attribute (or sub-attribute, or extension) the schema does not define:
    /// `true` rejects it with 400 `invalidSyntax` ("The request body message structure was
    /// invalid or did not conform to the request schema.", RFC 7644 §3.12); `false` drops it.
    /// Strict: `true`; lenient: `false`.
    pub reject_unknown_attributes: bool,
    /// Reject string values outside a non-empty `canonicalValues` list with 400
    /// `invalidValue` (compared case-insensitively unless the attribute is `caseExact`).
    /// RFC 7643 §7 makes the list advisory: "A collection of suggested canonical values that
    /// MAY be used (e.g., "work" and "home"). In some cases, service providers MAY choose to
    /// ignore unsupported values." Strict: `true`; lenient: `false`.
    pub enforce_canonical_values: bool,
    /// Accept the strings `"true"` / `"false"` (any case; Entra sends `"True"`) for a
    /// boolean attribute and store a JSON boolean. Strict: `false`; lenient: `true`.
    pub coerce_string_booleans: bool,
    /// Accept a single value for a multi-valued attribute and wrap it into a one-element
    /// array. Strict: `false`; lenient: `true`.
    pub wrap_single_values: bool,
    /// Accept a one-element array for a single-valued attribute (Entra sends
    /// `"manager": [{"value": "..."}]`) and unwrap it. Strict: `false`; lenient: `true`.
    pub unwrap_single_element_arrays: bool,
    /// Accept a plain string, number or boolean for a complex attribute that has a `value`
    /// sub-attribute (`"manager": "26118915"`) and store `{"value": ...}`.
    /// Strict: `false`; lenient: `true`.
    pub wrap_scalar_in_complex: bool,
    /// Repair the `schemas` list instead of rejecting it: add a missing core schema URN or
    /// `schemas` itself, add the URN of every extension present in the body, drop unknown
    /// extension URNs (Entra lists the URNs of custom extensions a server may not define) and
    /// duplicate URNs. Never repaired, in either preset: a list that names the core schema of
    /// another resource type or a protocol message (a body with
    /// `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]` sent to `/Users` is
    /// 400 `invalidValue`, not a User). Strict: `false` (400 `invalidValue`); lenient: `true`.
    pub repair_schemas: bool,
    /// Accept a top-level key that is a fully qualified attribute name
    /// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`) or the
    /// bare name of an attribute that exactly one extension defines (`employeeNumber`), and
    /// move it to where RFC 7643 §3.3 puts it: "the schema extension URI SHALL be used as a
    /// JSON container to distinguish attributes belonging to the extension namespace from
    /// base schema attributes". When `false` such keys are unknown attributes.
    /// Strict: `false`; lenient: `true`.
    pub relocate_extension_attributes: bool,
    /// On PUT, keep the stored value of a `writeOnly` attribute (`password`) that the request
    /// omits (a client can never read it back, so it cannot resend it). An explicit `null`
    /// still clears it. RFC 7644 §3.5.1 lets the service provider choose: it "MAY assume that
    /// any existing values are to be cleared, or ... MAY assign a default value".
    /// `true` in both presets.
    pub keep_omitted_write_only: bool,
    /// On PUT, reject a body whose `id` differs from the stored `id` with 400 `mutability`
    /// instead of ignoring it. RFC 7644 §3.5.1 says of readOnly attributes "Any values
    /// provided SHALL be ignored", so this is `false` in both presets.
    pub reject_mismatched_id: bool,
}

impl ValidationOptions {
    /// The options of a preset.
    pub fn new(mode: ValidationMode) -> Self {
        let lenient = mode == ValidationMode::Lenient;
        ValidationOptions {
            reject_unknown_attributes: !lenient,
            enforce_canonical_values: !lenient,
            coerce_string_booleans: lenient,
            wrap_single_values: lenient,
            unwrap_single_element_arrays: lenient,
            wrap_scalar_in_complex: lenient,
            repair_schemas: lenient,
            relocate_extension_attributes: lenient,
            keep_omitted_write_only: true,
            reject_mismatched_id: false,
        }
    }

    /// The [`ValidationMode::Strict`] preset.
    pub fn strict() -> Self {
        Self::new(ValidationMode::Strict)
    }

    /// The [`ValidationMode::Lenient`] preset (also `Default`).
    pub fn lenient() -> Self {
        Self::new(ValidationMode::Lenient)
    }
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self::lenient()
    }
}

impl From<ValidationMode> for ValidationOptions {
    fn from(mode: ValidationMode) -> Self {
        Self::new(mode)
    }
}
