"""``mlcask.pyspark`` (MLflow's ``mlflow.pyspark``): autologging for PySpark.

``mlcask.pyspark.ml.autolog()`` logs ``pyspark.ml`` training; the Spark ML model flavor
itself is :mod:`mlcask.spark`. Nothing here imports pyspark until autologging is turned on.
"""
