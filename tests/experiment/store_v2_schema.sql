-- The run store's tables as tuidl wrote them at schema version 2 (before curves were
-- chunked): the starting point of the upgrade tests.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    spec_toml TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    num_trials INTEGER,
    num_folds INTEGER,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS trials (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    message TEXT NOT NULL DEFAULT '',
    mean REAL, std REAL, train_acc REAL, fit_seconds REAL,
    PRIMARY KEY (run_id, trial)
);
CREATE TABLE IF NOT EXISTS folds (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    status TEXT NOT NULL,
    score REAL, train_acc REAL, fit_seconds REAL,
    message TEXT NOT NULL DEFAULT '',
    finished REAL NOT NULL,
    PRIMARY KEY (run_id, trial, fold)
);
CREATE TABLE IF NOT EXISTS curves (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    kind TEXT NOT NULL,
    step REAL NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS curves_by_trial ON curves (run_id, trial, fold, kind);
CREATE TABLE IF NOT EXISTS tests (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    best_trial INTEGER NOT NULL,
    params_json TEXT NOT NULL,
    test_accuracy REAL,
    num_test INTEGER,
    confusion_json TEXT,
    class_names_json TEXT,
    train_acc REAL,
    fit_seconds REAL,
    finished REAL NOT NULL,
    metrics_json TEXT
);
