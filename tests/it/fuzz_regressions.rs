//! Every input `make fuzz` ever crashed on (`tests/fuzz-regressions/<target>/`,
//! one file each, named for what it broke) runs through the same entry
//! point as its fuzz target (`kerio_migrate::fuzzing`), on stable: none may
//! panic again.

use kerio_migrate::fuzzing::TARGETS;
use std::fs;
use std::path::Path;

#[test]
fn every_crasher_the_fuzzer_found_stays_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut ran = 0;
    for dir in fs::read_dir(&root).expect("tests/fuzz-regressions") {
        let dir = dir.expect("entry").path();
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let Some((_, run)) = TARGETS.iter().find(|(t, _)| *t == name) else {
            panic!("{name}: not a fuzz target (kerio_migrate::fuzzing::TARGETS)");
        };
        for f in fs::read_dir(&dir).expect("target dir") {
            let f = f.expect("entry").path();
            let data = fs::read(&f).expect("crasher");
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!("{} panics again", f.display());
            }
            ran += 1;
        }
    }
    assert!(
        ran >= 1,
        "no regression inputs found under {}",
        root.display()
    );
}
