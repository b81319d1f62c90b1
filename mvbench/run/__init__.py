"""The run layer: grids and their cells, planning (validation before anything is logged), the
executors that compute cells, the cell worker, and what a method receives while it runs."""
