"""Model evaluation: MLflow's ``evaluate`` (metrics, plots, explanations) and a Responsible-AI report."""
