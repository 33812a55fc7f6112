//! Format numbers: older GBT files (per-node gains) load and become the current format; a newer
//! format is refused before its body is read, in JSON and in the binary encoding.

use scorekit_artifact::{Artifact, ArtifactError, FORMAT_VERSION, Model};

fn gbt_json(format: u32, model: &str) -> String {
    format!(
        r#"{{"format":{format},"schema":{{"name":"t","family":"gbt","inputs":[{{"name":"x","kind":"numeric"}}],"target":"y","positive_label":null,"outputs":["value"]}},"metrics":[],"provenance":[],"model":{{"gbt":{model}}}}}"#
    )
}

/// One split at 2.5, as format 1 wrote it (per-node `gain`).
const OLD_MODEL: &str = r#"{"n_features":1,"objective":"regression","base_score":0.5,"cat_levels":[0],"tree_starts":[0],
  "nodes":[{"feature":0,"left":1,"value":2.5,"default_left":true,"categorical":false,"cat_start":0,"cat_len":0},
           {"feature":0,"left":0,"value":-1.0,"default_left":false,"categorical":false,"cat_start":0,"cat_len":0},
           {"feature":0,"left":0,"value":1.0,"default_left":false,"categorical":false,"cat_start":0,"cat_len":0}],
  "cover":[10.0,4.0,6.0],"gain":[3.0,0.0,0.0],"cat_bits":[]}"#;

#[test]
fn older_gbt_files_load_as_the_current_format() {
    let a = Artifact::from_json(&gbt_json(1, OLD_MODEL)).unwrap();
    assert_eq!(a.format, FORMAT_VERSION);
    let Model::Gbt(m) = &a.model else { panic!("a GBT model") };
    assert_eq!(m.feature_importance(), vec![1.0]);
    assert_eq!((m.predict(&[1.0]), m.predict(&[3.0]), m.predict(&[f64::NAN])), (-0.5, 1.5, -0.5));
    // Written and read back in the current format: same model, both encodings.
    let again = Artifact::from_json(&a.to_json()).unwrap();
    assert_eq!(again, a);
    assert!(a.to_json().contains("\"importance\"") && !a.to_json().contains("\"gain\""));
    assert_eq!(Artifact::from_bytes(&a.to_bytes()).unwrap(), a);
}

#[test]
fn newer_formats_are_refused_before_reading_the_body() {
    let e = Artifact::from_json(&gbt_json(FORMAT_VERSION + 1, "\"not a model\"")).unwrap_err();
    assert!(
        matches!(e, ArtifactError::UnsupportedFormat { found, .. } if found == FORMAT_VERSION + 1),
        "{e}"
    );
    let a = Artifact::from_json(&gbt_json(1, OLD_MODEL)).unwrap();
    let mut bytes = a.to_bytes();
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(Artifact::from_bytes(&bytes), Err(ArtifactError::UnsupportedFormat { found: 1, .. })));
}
