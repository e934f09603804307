"""Pure analysis of consultation count tables: rankings, participation, weighting, intervals.

Nothing here imports Flask or the app: functions take small pandas count tables (the ones
app/services/datasets.py builds with SQL, or the ones analysis.opendata builds from the open-data
CSV) and return DataFrames, dicts or matplotlib Figures. Usable from a notebook, the command line
(`python -m analysis FILE.csv`) and the web app alike.
"""
