//! Kernel TCA: the Nyström form with every sample as a landmark spans the same kernel
//! feature space as the exact form, so 1-NN after either must label the target alike.

use tlab_core::learners::{Classifier, KNearest, TrainSet};
use tlab_core::synthetic::synthetic_domain;
use tlab_transductive::{Adapter, Kernel, Tca};

#[test]
fn nystrom_with_all_landmarks_agrees_with_exact_kernel_tca() {
    let s = synthetic_domain("moons:angle=0,n=60", 1, "source").unwrap();
    let (t, _) = synthetic_domain("moons:angle=30,n=50", 1, "target")
        .unwrap()
        .into_unlabeled();
    let predict = |tca: Tca| {
        let e = tca.adapt(&s, &t, 0).unwrap();
        assert!(e
            .source
            .iter()
            .chain(e.target.iter())
            .all(|v| v.is_finite()));
        let fit = KNearest::new(1)
            .unwrap()
            .fit(TrainSet::new(e.source.view(), s.y().view(), 2))
            .unwrap();
        fit.predict(e.target.view()).unwrap()
    };
    for kernel in [
        Kernel::Rbf { gamma: None },
        Kernel::Poly {
            gamma: 1.0,
            coef0: 1.0,
            degree: 2,
        },
    ] {
        let exact = predict(Tca::with_kernel(2, 1.0, kernel, None).unwrap());
        let nystrom = predict(Tca::with_kernel(2, 1.0, kernel, Some(110)).unwrap());
        let agree = exact.iter().zip(&nystrom).filter(|(a, b)| a == b).count();
        assert!(agree >= 49, "{kernel:?}: {agree}/50 agree");
    }
}
