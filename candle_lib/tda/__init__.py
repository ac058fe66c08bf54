"""Training-data analysis (issue 6): train on subsets of the data and cross-compare the models.

- :mod:`.design`: the trials of each analysis, as content-addressed trial specs;
- :mod:`.settings`, :mod:`.plan`: the ``tda`` config section made concrete;
- :mod:`.groups`: the groups of a prepared dataset that group-wise trainings can use;
- :mod:`.scoring`, :mod:`.tables`: a metric on any subset of a trial's predictions, and tables
  over trials (learning curve, noise curves);
- :mod:`.group_matrix`, :mod:`.transfer`, :mod:`.representation`: the other analyses' tables;
- :mod:`.plots`: their figures.
"""
