//! The `modem` section: a built-in profile by name, or with some of its knobs changed. Its
//! serde and schema are written by hand: a name or an object, merged over the named profile.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_modem::profile::Profile;

/// The modem personality (sim-modem's profiles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModemProfile {
    /// SIMCom SIM800.
    #[default]
    Sim800,
    /// Luat Air202 AT firmware.
    Air202,
}

impl ModemProfile {
    pub fn name(self) -> &'static str {
        match self {
            ModemProfile::Sim800 => "sim800",
            ModemProfile::Air202 => "air202",
        }
    }

    /// sim-modem's profile of that name.
    pub fn profile(self) -> Profile {
        Profile::by_name(self.name()).expect("every ModemProfile is a built-in profile")
    }
}

/// The modem a scenario runs: a built-in profile, maybe with some knobs changed. Written as
/// the profile's name (`"sim800"`), or as an object naming it with any of sim-modem's
/// `Profile` fields, which replace the profile's values:
/// `{ "profile": "sim800", "closed_on_pdp_deact": false }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modem {
    /// The built-in profile the knobs start from.
    pub base: ModemProfile,
    /// The profile as the file makes it.
    pub profile: Profile,
}

impl Modem {
    /// A built-in profile, unchanged.
    pub fn named(base: ModemProfile) -> Modem {
        Modem {
            base,
            profile: base.profile(),
        }
    }

    /// The fields the file changes, as JSON (empty for a built-in profile unchanged).
    pub fn overrides(&self) -> serde_json::Map<String, serde_json::Value> {
        let base = profile_json(&self.base.profile());
        profile_json(&self.profile)
            .into_iter()
            .filter(|(key, value)| base.get(key) != Some(value))
            .collect()
    }
}

impl Default for Modem {
    fn default() -> Modem {
        Modem::named(ModemProfile::default())
    }
}

fn profile_json(profile: &Profile) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(profile) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => unreachable!("a profile serializes as an object"),
    }
}

impl Serialize for Modem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let overrides = self.overrides();
        if overrides.is_empty() {
            return self.base.serialize(s);
        }
        let mut map = serde_json::Map::new();
        map.insert("profile".into(), self.base.name().into());
        map.extend(overrides);
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Modem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Modem, D::Error> {
        use serde::de::{self, IntoDeserializer, MapAccess, Visitor};

        struct ModemVisitor;

        impl<'de> Visitor<'de> for ModemVisitor {
            type Value = Modem;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a modem profile's name or an object with `profile` and profile fields")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Modem, E> {
                ModemProfile::deserialize(name.into_deserializer()).map(Modem::named)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Modem, A::Error> {
                let mut base = None;
                let mut fields = serde_json::Map::new();
                // Keys and values are checked as they are read, so that an error points at
                // the key or value at fault.
                while let Some(key) = map.next_key_seed(FieldName)? {
                    if key == "profile" {
                        if base.is_some() {
                            return Err(de::Error::duplicate_field("profile"));
                        }
                        base = Some(map.next_value::<ModemProfile>()?);
                        continue;
                    }
                    if fields.contains_key(key) {
                        return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                    }
                    let value = map.next_value_seed(FieldValue(key))?;
                    fields.insert(key.to_string(), value);
                }
                let base = base.ok_or_else(|| de::Error::missing_field("profile"))?;
                let mut merged = profile_json(&base.profile());
                merged.extend(fields);
                let profile = Profile::deserialize(serde_json::Value::Object(merged))
                    .map_err(de::Error::custom)?;
                Ok(Modem { base, profile })
            }
        }

        d.deserialize_any(ModemVisitor)
    }
}

/// A key of the object form: `profile`, or one of the profile's fields but its `name`.
struct FieldName;

impl<'de> serde::de::DeserializeSeed<'de> for FieldName {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        use serde::de::Error;
        let key = String::deserialize(d)?;
        if key == "name" {
            return Err(D::Error::custom(
                "unknown field `name`: `profile` names the profile",
            ));
        }
        let known = modem_fields();
        let found = known.iter().find(|field| **field == key);
        found
            .copied()
            .ok_or_else(|| D::Error::unknown_field(&key, known))
    }
}

/// The value of a profile field, checked by the profile's own rules (durations, ranges).
struct FieldValue(&'static str);

impl<'de> serde::de::DeserializeSeed<'de> for FieldValue {
    type Value = serde_json::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<serde_json::Value, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let single = serde_json::Map::from_iter([(self.0.to_string(), value.clone())]);
        Profile::deserialize(serde_json::Value::Object(single))
            .map_err(serde::de::Error::custom)?;
        Ok(value)
    }
}

/// The keys of the object form, in the profile's order: `profile`, then the profile's
/// fields but its `name`.
fn modem_fields() -> &'static [&'static str] {
    static FIELDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut fields = vec!["profile"];
        fields.extend(struct_fields::<Profile>().iter().filter(|f| **f != "name"));
        fields
    })
}

/// The field names serde knows a struct by, in their order.
fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};

    /// A deserializer that only notes the fields a struct asks for.
    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

impl JsonSchema for Modem {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Modem".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let named = generator.subschema_for::<ModemProfile>();
        // The object: `profile`, then any of the profile's fields but its name.
        let mut object = Profile::json_schema(generator);
        if let Some(map) = object.as_object_mut() {
            map.remove("title");
            map.remove("required");
            map.insert(
                "description".into(),
                "A built-in profile (`profile`) with some of its fields changed.".into(),
            );
            if let Some(serde_json::Value::Object(properties)) = map.get_mut("properties") {
                properties.remove("name");
                // The defaults are the named profile's, not the SIM800's the schema shows.
                for property in properties.values_mut() {
                    if let Some(property) = property.as_object_mut() {
                        property.remove("default");
                    }
                }
                properties.insert("profile".into(), named.clone().into());
            }
            map.insert("required".into(), serde_json::json!(["profile"]));
        }
        schemars::json_schema!({
            "description": "The modem personality: a built-in profile's name, or an object naming the `profile` with some of its fields changed.",
            "anyOf": [named, object],
        })
    }
}
