"""A sending window whose ends are equal (``10:00``–``10:00``) becomes no window.

Such a window always meant "no window" (always open); since the API refuses equal ends, a row
keeping them could not be edited without also fixing its window. Clearing both ends keeps what the
campaign does and lets every edit through.
"""


def up(migrator, db):
    db.execute_sql("UPDATE campaign SET window_start = NULL, window_end = NULL "
                   "WHERE window_start IS NOT NULL AND window_start = window_end")
