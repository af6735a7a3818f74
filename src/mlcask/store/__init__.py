"""MLflow's ``mlflow.store`` module paths that user code imports names from."""
