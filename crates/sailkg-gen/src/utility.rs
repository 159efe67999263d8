//! Utility: does the synthetic data help a model learn the real data, the rare classes above
//! all? One fixed classifier (smartcore's random forest, 50 trees, seed 7) is trained three
//! ways — on the real training rows, on them plus the synthetic rows of the rare classes, and
//! on the synthetic rows alone — and tested on real rows it never saw: macro-F1 and recall per
//! class.
//!
//! Features: numbers as they are (a null as the training mean), labels one-hot over their 30
//! most frequent training levels; identifiers and the target are left out.

use crate::GenError;
use crate::table::{Role, Table, Values};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use std::collections::HashMap;

/// Training rows used at most (evenly chosen).
const MAX_TRAIN: usize = 20_000;
/// A class is rare below this share of the training rows.
const RARE_SHARE: f64 = 0.05;

/// Scores of one training set on the test rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scores {
    pub training_rows: usize,
    pub macro_f1: f64,
    /// Recall of every class present in the test rows.
    pub recall: Vec<(String, f64)>,
    /// Mean recall over the rare classes.
    pub rare_recall: Option<f64>,
}

/// The three trainings compared.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Utility {
    pub target: String,
    pub classifier: &'static str,
    pub test_rows: usize,
    pub rare_classes: Vec<String>,
    pub synthetic_rows_added: usize,
    pub real: Scores,
    pub real_plus_synthetic: Scores,
    /// Absent when the synthetic rows hold fewer than two classes.
    pub synthetic_only: Option<Scores>,
}

struct Features {
    numbers: Vec<(String, f64)>,
    labels: Vec<(String, Vec<String>)>,
}

impl Features {
    fn new(train: &Table, target: &str) -> Self {
        let mut numbers = Vec::new();
        let mut labels = Vec::new();
        for column in &train.columns {
            if column.role == Role::Id || column.name == target {
                continue;
            }
            match &column.values {
                Values::Numbers { values, .. } => {
                    let present: Vec<f64> = values.iter().flatten().copied().collect();
                    if !present.is_empty() {
                        numbers
                            .push((column.name.clone(), present.iter().sum::<f64>() / present.len() as f64));
                    }
                }
                Values::Labels { .. } => {
                    let mut counts: HashMap<String, usize> = HashMap::new();
                    for r in 0..column.len() {
                        if let Some(t) = column.text(r) {
                            *counts.entry(t).or_default() += 1;
                        }
                    }
                    let mut levels: Vec<(String, usize)> = counts.into_iter().collect();
                    levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    levels.truncate(30);
                    if levels.len() > 1 {
                        labels.push((column.name.clone(), levels.into_iter().map(|l| l.0).collect()));
                    }
                }
            }
        }
        Self { numbers, labels }
    }

    fn row(&self, table: &Table, r: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for (name, mean) in &self.numbers {
            let value = table.position(name).and_then(|p| match &table.columns[p].values {
                Values::Numbers { values, .. } => values[r],
                Values::Labels { .. } => None,
            });
            out.push(value.unwrap_or(*mean));
        }
        for (name, levels) in &self.labels {
            let text = table.position(name).and_then(|p| table.columns[p].text(r));
            out.extend(levels.iter().map(|l| f64::from(u8::from(text.as_deref() == Some(l.as_str())))));
        }
        out
    }

    fn width(&self) -> usize {
        self.numbers.len() + self.labels.iter().map(|l| l.1.len()).sum::<usize>()
    }
}

/// Trains on `train` (plus synthetic rare rows, or synthetic alone) and tests on `test`.
pub fn utility(train: &Table, test: &Table, synthetic: &Table, target: &str) -> Result<Utility, GenError> {
    let class_of = |table: &Table| -> Result<Vec<Option<String>>, GenError> {
        let p =
            table.position(target).ok_or_else(|| GenError::Input(format!("no target column {target}")))?;
        Ok((0..table.rows()).map(|r| table.columns[p].text(r)).collect())
    };
    let (train_y, test_y, synthetic_y) = (class_of(train)?, class_of(test)?, class_of(synthetic)?);
    let features = Features::new(train, target);
    if features.width() == 0 {
        return Err(GenError::Input(format!("no feature column besides the target {target}")));
    }
    let mut classes: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    for c in train_y.iter().chain(&test_y).chain(&synthetic_y).flatten() {
        index.entry(c.clone()).or_insert_with(|| {
            classes.push(c.clone());
            (classes.len() - 1) as u32
        });
    }
    let mut counts = vec![0usize; classes.len()];
    for c in train_y.iter().flatten() {
        counts[index[c] as usize] += 1;
    }
    let trained = counts.iter().sum::<usize>().max(1);
    let rare: Vec<u32> = (0..classes.len() as u32)
        .filter(|&c| counts[c as usize] > 0 && (counts[c as usize] as f64 / trained as f64) < RARE_SHARE)
        .collect();
    let rows = |table: &Table,
                y: &[Option<String>],
                keep: &dyn Fn(u32) -> bool,
                cap: usize|
     -> (Vec<Vec<f64>>, Vec<u32>) {
        let candidates: Vec<usize> =
            (0..table.rows()).filter(|&r| y[r].as_ref().is_some_and(|c| keep(index[c]))).collect();
        let chosen: Vec<usize> = if candidates.len() <= cap {
            candidates
        } else {
            (0..cap).map(|k| candidates[k * candidates.len() / cap]).collect()
        };
        (
            chosen.iter().map(|&r| features.row(table, r)).collect(),
            chosen.iter().map(|&r| index[y[r].as_ref().expect("kept rows have a class")]).collect(),
        )
    };
    let (train_x, train_c) = rows(train, &train_y, &|_| true, MAX_TRAIN);
    let (test_x, test_c) = rows(test, &test_y, &|_| true, usize::MAX);
    let (rare_x, rare_c) = rows(synthetic, &synthetic_y, &|c| rare.contains(&c), MAX_TRAIN);
    let (all_x, all_c) = rows(synthetic, &synthetic_y, &|_| true, MAX_TRAIN);
    if test_x.is_empty() || train_x.is_empty() {
        return Err(GenError::Input("utility needs training and test rows with a class".into()));
    }
    let score = |x: &[Vec<f64>], y: &[u32]| -> Result<Scores, GenError> {
        let matrix = DenseMatrix::from_2d_vec(&x.to_vec()).map_err(|e| GenError::Input(e.to_string()))?;
        let parameters = RandomForestClassifierParameters::default().with_n_trees(50).with_seed(7);
        let forest = RandomForestClassifier::fit(&matrix, &y.to_vec(), parameters)
            .map_err(|e| GenError::Input(format!("the classifier: {e}")))?;
        let test = DenseMatrix::from_2d_vec(&test_x).map_err(|e| GenError::Input(e.to_string()))?;
        let predicted: Vec<u32> = forest.predict(&test).map_err(|e| GenError::Input(e.to_string()))?;
        Ok(scores(&predicted, &test_c, &classes, &rare, x.len()))
    };
    let real = score(&train_x, &train_c)?;
    let mut augmented_x = train_x.clone();
    augmented_x.extend(rare_x.iter().cloned());
    let mut augmented_c = train_c.clone();
    augmented_c.extend(rare_c.iter().copied());
    let real_plus_synthetic = score(&augmented_x, &augmented_c)?;
    let distinct: std::collections::HashSet<&u32> = all_c.iter().collect();
    let synthetic_only = if distinct.len() >= 2 { Some(score(&all_x, &all_c)?) } else { None };
    Ok(Utility {
        target: target.to_owned(),
        classifier: "random forest (smartcore, 50 trees, seed 7)",
        test_rows: test_c.len(),
        rare_classes: rare.iter().map(|&c| classes[c as usize].clone()).collect(),
        synthetic_rows_added: rare_c.len(),
        real,
        real_plus_synthetic,
        synthetic_only,
    })
}

fn scores(
    predicted: &[u32],
    truth: &[u32],
    classes: &[String],
    rare: &[u32],
    training_rows: usize,
) -> Scores {
    let k = classes.len();
    let (mut tp, mut fp, mut fn_) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
    for (&p, &t) in predicted.iter().zip(truth) {
        if p == t {
            tp[t as usize] += 1;
        } else {
            fp[p as usize] += 1;
            fn_[t as usize] += 1;
        }
    }
    let present: Vec<usize> = (0..k).filter(|&c| tp[c] + fn_[c] > 0).collect();
    let recall = |c: usize| tp[c] as f64 / (tp[c] + fn_[c]) as f64;
    let f1 = |c: usize| {
        let denominator = 2 * tp[c] + fp[c] + fn_[c];
        if denominator == 0 { 0.0 } else { 2.0 * tp[c] as f64 / denominator as f64 }
    };
    let rare_present: Vec<usize> = rare.iter().map(|&c| c as usize).filter(|c| present.contains(c)).collect();
    Scores {
        training_rows,
        macro_f1: present.iter().map(|&c| f1(c)).sum::<f64>() / present.len().max(1) as f64,
        recall: present.iter().map(|&c| (classes[c].clone(), recall(c))).collect(),
        rare_recall: (!rare_present.is_empty())
            .then(|| rare_present.iter().map(|&c| recall(c)).sum::<f64>() / rare_present.len() as f64),
    }
}
