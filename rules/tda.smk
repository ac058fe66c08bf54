# Training-data analysis: learning curves, leave-one-group-out, transfer, AE vs PCA, noise.
