//! Seconds to embed the bundled sample (10,000 images) with the default CNN, three times:
//! the cost of one live snapshot of the sample. `cargo run --release --example embed_time`
fn main() {
    pretext::ssl::ops::init_cpu_runtime();
    let ds = pretext::data::load_dataset(&pretext::data::load::sample_data_dir(), &Default::default()).expect("embedding the sample");
    let cfg = pretext::ssl::TrainConfig::for_modality(&ds.modality);
    let (_vm, model) = pretext::ssl::encoder::SslModel::build(&ds.modality, &cfg).expect("embedding the sample");
    let idx: Vec<usize> = (0..ds.len()).collect();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let e = pretext::ssl::evaluate::embed_dataset(&model, &ds, &idx).expect("embedding the sample");
        println!("{} x {} in {:.2} s", e.rows, e.cols, t.elapsed().as_secs_f64());
    }
}
