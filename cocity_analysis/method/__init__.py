"""Method: indicators, treatment, imputation, scores, need profiles, priorities and their uncertainty."""
