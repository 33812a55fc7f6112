#[test]
fn m() {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/tmp/demo/anomaly.model.json").unwrap()).unwrap();
    let m: scorekit_rcf::RcfModel = serde_json::from_value(v["model"]["rcf"].clone()).unwrap();
    let b = postcard::to_allocvec(&m).unwrap();
    eprintln!("total {}", b.len());
    let back: scorekit_rcf::RcfModel = postcard::from_bytes(&b).unwrap();
    assert_eq!(back, m);
}
