"""Writes the two small CSV domains of the README's "Your own data" example (numpy only):
three classes of 4-feature Gaussian blobs; the `phone` domain is the `studio` one rotated
and shifted, so a model trained on one loses accuracy on the other.
    python3 make.py"""
import numpy as np

rng = np.random.default_rng(7)
means = np.array([[0, 0, 0, 0], [2.5, 0, 1, 0], [0, 2.5, 0, 1]], dtype=float)
theta = np.deg2rad(35)
rot = np.eye(4)
rot[:2, :2] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
names = ["mug", "lamp", "chair"]
for domain, r, shift in [("studio", np.eye(4), 0.0), ("phone", rot, 0.8)]:
    with open(f"{domain}.csv", "w") as f:
        f.write("f1,f2,f3,f4,object\n")
        for i in range(45):
            c = i % 3
            x = (means[c] + rng.normal(0, 0.8, 4)) @ r.T + shift
            f.write(",".join(f"{v:.3f}" for v in x) + f",{names[c]}\n")
