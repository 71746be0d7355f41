//! tlab-core: the shared vocabulary of tlab — the leakage-proof data model, preprocessing,
//! loaders, the benchmark registry and built-in data, base learners, scores, and dense
//! linear algebra on faer.

pub mod dataset;
pub mod domain;
pub mod error;
pub mod io;
pub mod learners;
pub mod linalg;
pub mod metrics;
pub mod preprocess;
pub mod registry;
pub mod select;
pub mod synthetic;
pub mod unsupervised;
pub mod vmath;

pub use dataset::{Dataset, DatasetSpec, DomainSpec, LoadedDataset, SampleAxis};
pub use domain::{
    budget_label, make_task, Evaluator, LabelBudget, LabeledDomain, TargetTruth, TransferTask,
    UnlabeledDomain, ALL_LABELS, ALL_LABELS_HOLDOUT,
};
pub use error::{CoreError, Result};
pub use learners::{Classifier, FittedClassifier, LearnerSpec, TrainSet};
pub use metrics::{ClusterScores, Scores};
pub use preprocess::Preprocess;
pub use unsupervised::{
    make_anomaly_task, make_clustering_task, AnomalyEvaluator, AnomalySetup, ClusterEvaluator,
    UnsupervisedTask,
};
