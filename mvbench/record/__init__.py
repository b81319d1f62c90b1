"""The record layer: everything mvbench writes to and reads from MLflow. :mod:`.schema` owns the
names and the result record; :mod:`.tracking` owns the store."""
