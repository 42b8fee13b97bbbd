//! Linear online learners: the streaming standard scaler and logistic regression by SGD,
//! equal to River's `preprocessing.StandardScaler` and `linear_model.LogisticRegression`.

/// Streaming standardisation, as River's `preprocessing.StandardScaler`: a running mean and
/// population variance per feature (Welford); a feature with zero variance maps to 0.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StandardScaler {
    counts: Vec<f64>,
    means: Vec<f64>,
    vars: Vec<f64>,
}

impl StandardScaler {
    /// A scaler for `n_features` features.
    pub fn new(n_features: usize) -> StandardScaler {
        StandardScaler {
            counts: vec![0.0; n_features],
            means: vec![0.0; n_features],
            vars: vec![0.0; n_features],
        }
    }

    /// Updates the running statistics with one row.
    pub fn learn_one(&mut self, x: &[f64]) {
        for (i, &xi) in x.iter().enumerate() {
            self.counts[i] += 1.0;
            let old = self.means[i];
            self.means[i] += (xi - old) / self.counts[i];
            self.vars[i] += ((xi - old) * (xi - self.means[i]) - self.vars[i]) / self.counts[i];
        }
    }

    /// Standardises one row into `out`.
    pub fn transform_into(&self, x: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(x.iter().enumerate().map(|(i, &xi)| {
            let v = self.vars[i];
            if v != 0.0 {
                (xi - self.means[i]) / v.sqrt()
            } else {
                0.0
            }
        }));
    }
}

/// River's `utils.math.sigmoid`.
fn sigmoid(x: f64) -> f64 {
    if x < -30.0 {
        0.0
    } else if x > 30.0 {
        1.0
    } else {
        1.0 / (1.0 + (-x).exp())
    }
}

/// Binary logistic regression learned by plain SGD, as River's
/// `linear_model.LogisticRegression()`: log loss, learning rate 0.01 for the weights and
/// the intercept, weights and intercept starting at 0, no regularisation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticRegression {
    weights: Vec<f64>,
    intercept: f64,
    lr: f64,
    intercept_lr: f64,
}

impl LogisticRegression {
    /// A model for `n_features` features with River's defaults.
    pub fn new(n_features: usize) -> LogisticRegression {
        LogisticRegression {
            weights: vec![0.0; n_features],
            intercept: 0.0,
            lr: 0.01,
            intercept_lr: 0.01,
        }
    }

    /// The same model with SGD learning rate `lr` for the weights and the intercept.
    pub fn with_learning_rate(self, lr: f64) -> LogisticRegression {
        LogisticRegression {
            lr,
            intercept_lr: lr,
            ..self
        }
    }

    fn raw(&self, x: &[f64]) -> f64 {
        self.weights
            .iter()
            .zip(x)
            .map(|(w, xi)| w * xi)
            .sum::<f64>()
            + self.intercept
    }

    /// P(y = true | x).
    pub fn predict_proba(&self, x: &[f64]) -> f64 {
        sigmoid(self.raw(x))
    }

    /// One SGD step on a row with a boolean label.
    pub fn learn_one(&mut self, x: &[f64], y: bool) {
        let sign = if y { 1.0 } else { -1.0 };
        let z = self.raw(x) * sign;
        let g = if z > 18.0 {
            (-z).exp() * -sign
        } else if z < -18.0 {
            -sign
        } else {
            -sign / (z.exp() + 1.0)
        };
        let g = g.clamp(-1e12, 1e12);
        self.intercept -= self.intercept_lr * g;
        for (w, xi) in self.weights.iter_mut().zip(x) {
            *w -= self.lr * (xi * g);
        }
    }

    /// Swaps the meaning of the two classes: the model learned with every label flipped.
    /// Exact, as log loss and SGD are symmetric under `y -> -y`, `w -> -w`.
    pub fn flip(&mut self) {
        self.weights.iter_mut().for_each(|w| *w = -*w);
        self.intercept = -self.intercept;
    }

    /// The weights, in feature order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The intercept.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }
}
