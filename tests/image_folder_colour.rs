//! An image folder is greyscale only when every file is: one colour image anywhere (here after
//! 40 greyscale ones) makes the whole set RGB, with the greyscale images repeated over the
//! three channels.

use pretext::data::{load_dataset, LoadOptions, Modality};

fn write_grey(path: &std::path::Path, level: u8) {
    image::save_buffer(path, &[level; 16], 4, 4, image::ColorType::L8).unwrap();
}

#[test]
fn one_colour_file_anywhere_makes_the_folder_rgb() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("things");
    std::fs::create_dir(&class).unwrap();
    for i in 0..40 {
        write_grey(&class.join(format!("a{i:02}.png")), 100);
    }
    let opts = LoadOptions { image_size: 4, ..Default::default() };
    let grey = load_dataset(dir.path(), &opts).unwrap();
    assert_eq!(grey.modality, Modality::Image { channels: 1, height: 4, width: 4 });

    let red: Vec<u8> = (0..16).flat_map(|_| [200u8, 10, 10]).collect();
    image::save_buffer(class.join("z.png"), &red, 4, 4, image::ColorType::Rgb8).unwrap();
    let ds = load_dataset(dir.path(), &opts).unwrap();
    assert_eq!(ds.modality, Modality::Image { channels: 3, height: 4, width: 4 });
    assert_eq!(ds.len(), 41);
    let level = 100.0 / 255.0;
    let mut saw_red = false;
    for i in 0..ds.len() {
        let item = ds.global_item(i);
        if item[0] > 0.7 {
            saw_red = true;
            assert!((item[0] - 200.0 / 255.0).abs() < 1e-6 && (item[16] - 10.0 / 255.0).abs() < 1e-6);
        } else {
            assert!(item.iter().all(|v| (v - level).abs() < 1e-6), "grey item {i} is grey on all channels");
        }
    }
    assert!(saw_red);
}
