"""Bad spec files, ``--set`` overrides and ``--seed`` values."""

from __future__ import annotations

from bad_inputs import KNN, NET, RUN, Case, case, write


def knn(old: str, new: str) -> str:
    assert old in KNN, old
    return KNN.replace(old, new, 1)


def net(old: str, new: str) -> str:
    assert old in NET, old
    return NET.replace(old, new, 1)


NO_GRID = KNN.split("[cv.grid]")[0]
NET_NO_GRID = NET.split("[cv.grid]")[0]
DEEP = "[" * 300 + "]" * 300

# (id, spec text, expected in the error line): checked with `tuidl spec check`
CHECKED: list[tuple[str, str | bytes, str]] = [
    # text and TOML
    ("empty-file", "", "dataset"),
    ("only-comments", "# nothing here\n", "dataset"),
    ("toml-syntax", KNN + "seed = \n", "not valid TOML"),
    ("toml-unclosed-table", "[dataset\nname = 'digits'\n", "not valid TOML"),
    ("toml-duplicate-key", "seed = 1\n" + KNN, "not valid TOML"),
    ("toml-duplicate-table", KNN + "[model]\nname = 'knn'\n", "not valid TOML"),
    ("toml-unterminated-string", 'name = "abc\n' + KNN, "not valid TOML"),
    ("toml-bad-escape", 'name = "\\q"\n' + KNN, "not valid TOML"),
    ("toml-binary-garbage", b"\x00\x01\x02\x03seed = 1", "not valid TOML"),
    ("not-utf8-latin1", KNN.encode() + b"# caf\xe9\n", "is not UTF-8 text (line 16"),
    ("not-utf8-utf16", "\ufeff".encode("utf-16") + KNN.encode("utf-16-le"), "not UTF-8"),
    ("deep-arrays-5000", "seed = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    ("deep-tables-5000", "seed = " + "{a = " * 5000 + "1" + "}" * 5000, "nested too deeply"),
    ("deep-arrays-600", "seed = " + "[" * 600 + "]" * 600, "nested too deeply"),
    ("deep-seed-300", knn("seed = 0", "seed = " + DEEP), "seed"),
    ("deep-grid-300", knn('"model.k" = [1, 3]', '"model.k" = ' + DEEP), "model.k"),
    ("deep-param-300", knn("k = 3", "k = " + DEEP), "model.k"),
    ("deep-header-keys", "[" + ".".join(["a"] * 3000) + "]\n", "a"),
    # the seed (#15 item 8)
    ("seed-string", knn("seed = 0", 'seed = "abc"'), "seed"),
    ("seed-float", knn("seed = 0", "seed = 1.5"), "seed"),
    ("seed-bool", knn("seed = 0", "seed = true"), "seed"),
    ("seed-nan", knn("seed = 0", "seed = nan"), "seed"),
    ("seed-inf", knn("seed = 0", "seed = inf"), "seed"),
    ("seed-negative", knn("seed = 0", "seed = -1"), "seed"),
    ("seed-1e20", knn("seed = 0", "seed = 1e20"), "seed"),
    ("seed-2**64", knn("seed = 0", "seed = 18446744073709551616"), "seed"),
    ("seed-list", knn("seed = 0", "seed = [1]"), "seed"),
    ("seed-table", knn("seed = 0", "seed = {a = 1}"), "seed"),
    # the layout
    ("unknown-top-key", "colour = 'red'\n" + KNN, "colour: unknown key"),
    ("unknown-top-table", KNN + "[extras]\na = 1\n", "extras"),
    ("name-not-string", "name = 3\n" + KNN, "name"),
    ("no-dataset", knn('[dataset]\nname = "digits"\n', ""), "dataset"),
    ("dataset-is-string", knn('[dataset]\nname = "digits"\n', 'dataset = "digits"\n'), "dataset"),
    ("dataset-no-name", knn('name = "digits"', 'path = "x"'), "dataset"),
    ("dataset-unknown", knn('name = "digits"', 'name = "nosuch"'), "nosuch"),
    ("dataset-name-number", knn('name = "digits"', "name = 7"), "dataset"),
    ("dataset-name-nul", knn('name = "digits"', 'name = "dig\\u0000its"'), "dataset"),
    ("dataset-unknown-param", knn('name = "digits"', 'name = "digits"\nsize = 3'), "size"),
    ("no-model", knn('[model]\nname = "knn"\nk = 3\n', ""), "model"),
    ("model-unknown", knn('name = "knn"', 'name = "svm9000"'), "svm9000"),
    ("model-array-of-tables", knn("[model]", "[[model]]"), "model"),
    ("model-unknown-param", knn("k = 3", "k = 3\nkk = 1"), "kk"),
    ("model-k-zero", knn("k = 3", "k = 0"), "model.k"),
    ("model-k-negative", knn("k = 3", "k = -3"), "model.k"),
    ("model-k-string", knn("k = 3", 'k = "three"'), "model.k"),
    ("model-k-float", knn("k = 3", "k = 1.5"), "model.k"),
    ("model-k-bool", knn("k = 3", "k = true"), "model.k"),
    ("model-k-1e400", knn("k = 3", "k = 1e400"), "model.k"),
    ("model-k-nan", knn("k = 3", "k = nan"), "model.k"),
    ("model-k-list", knn("k = 3", "k = [3]"), "model.k"),
    ("model-k-date", knn("k = 3", "k = 1979-05-27"), "model.k"),
    ("hidden-sizes-string", net("[20]", '"x"'), "hidden_sizes"),
    ("hidden-sizes-zero", net("[20]", "[0]"), "hidden_sizes"),
    ("hidden-sizes-negative", net("[20]", "[-4]"), "hidden_sizes"),
    ("hidden-sizes-floats", net("[20]", "[2.5]"), "hidden_sizes"),
    ("loss-unknown", net('name = "softmax"', 'name = "hinge9"'), "hinge9"),
    ("init-unknown", net('name = "small_random"', 'name = "zeros9"'), "zeros9"),
    ("optimizer-unknown", net('name = "sgd"', 'name = "adamw9"'), "adamw9"),
    ("lr-negative", net("lr = 0.01", "lr = -1.0"), "optimizer.lr"),
    ("lr-nan", net("lr = 0.01", "lr = nan"), "optimizer.lr"),
    ("lr-inf", net("lr = 0.01", "lr = inf"), "optimizer.lr"),
    ("lr-string", net("lr = 0.01", 'lr = "fast"'), "optimizer.lr"),
    ("epochs-negative", net("epochs = 1", "epochs = -1"), "training.epochs"),
    ("epochs-nan", net("epochs = 1", "epochs = nan"), "training.epochs"),
    ("iterations-zero", net("epochs = 1", "iterations = 0"), "training.iterations"),
    ("batch-size-zero", net("batch_size = 50", "batch_size = 0"), "training.batch_size"),
    ("batch-size-string", net("batch_size = 50", 'batch_size = "50"'), "training.batch_size"),
    ("sampling-bogus", net("epochs = 1", 'epochs = 1\nsampling = "bogus"'), "training.sampling"),
    ("training-unknown-key", net("epochs = 1", "epochs = 1\nspeed = 3"), "speed"),
    ("num-training-zero", knn("num_training = 300", "num_training = 0"), "split.num_training"),
    ("num-training-negative", knn("num_training = 300", "num_training = -5"), "num_training"),
    ("num-test-string", knn("num_test = 50", 'num_test = "x"'), "split.num_test"),
    ("shuffle-string", knn("num_test = 50", 'num_test = 50\nshuffle = "yes"'), "split.shuffle"),
    ("split-unknown-key", knn("num_test = 50", "num_test = 50\nratio = 0.5"), "ratio"),
    ("preprocess-unknown", knn('name = "reshape"', 'name = "sharpen"'), "sharpen"),
    ("preprocess-not-tables", "preprocess = 3\n" + knn("[[preprocess]]", "[unused]"), "preprocess"),
    ("preprocess-in-split", knn('[[preprocess]]\nname = "reshape"\n', "preprocess = 3\n"), "split"),
    ("preprocess-no-name", knn('name = "reshape"', "k = 3"), "preprocess"),
    ("pca-k-zero", knn('"reshape"', '"reshape"\n[[preprocess]]\nname = "pca"\nk = 0'), "'k' got 0"),
    ("preprocess-bad-dtype", knn('"reshape"', '"reshape"\ndtype = "float7"'), "dtype"),
    ("cv-folds-one", knn("folds = 3", "folds = 1"), "cv.folds"),
    ("cv-folds-zero", knn("folds = 3", "folds = 0"), "cv.folds"),
    ("cv-folds-string", knn("folds = 3", 'folds = "3"'), "cv.folds"),
    ("cv-method-unknown", knn("folds = 3", 'folds = 3\nmethod = "loo"'), "cv.method"),
    ("cv-unknown-key", knn("folds = 3", "folds = 3\nrepeats = 2"), "repeats"),
    ("grid-empty-list", knn("[1, 3]", "[]"), "model.k"),
    ("grid-not-a-list", knn("[1, 3]", "3"), "model.k"),
    ("grid-names-nothing", knn('"model.k"', '"model.nope"'), "model.nope"),
    ("grid-unknown-section", knn('"model.k"', '"weather.k"'), "weather.k"),
    ("grid-dataset-key", knn('"model.k" = [1, 3]', '"dataset.name" = ["digits"]'), "dataset.name"),
    ("grid-bad-value-type", knn("[1, 3]", '["a", "b"]'), "model.k"),
    ("grid-bad-value-range", knn("[1, 3]", "[1, -3]"), "model.k"),
    ("grid-nan", net("[0.01, 0.1]", "[nan]"), "optimizer.lr"),
    ("grid-step-out-of-range", knn('"model.k" = [1, 3]', '"preprocess.5.k" = [1]'), "preprocess.5"),
    ("grid-is-not-table", knn('[cv.grid]\n"model.k" = [1, 3]\n', "grid = 3\n"), "cv.grid"),
]

# (id, spec text, expected): only `tuidl run` can tell (the data, or a trial, refuses it)
RAN: list[tuple[str, str, str]] = [
    ("more-rows-than-data", knn("num_training = 300", "num_training = 100000"), "1797 rows"),
    ("num-training-1e30", knn("num_training = 300", "num_training = 1e30"), "num_training"),
    ("folds-more-than-rows", knn("folds = 3", "folds = 1000"), "use 2 to 300 folds"),
    ("one-training-row", knn("num_training = 300", "num_training = 1"), "at least 2 training"),
    ("npz-missing-file", knn('"digits"', '"npz"\npath = "{t}/nope.npz"'), "no such file"),
    (
        "cifar-missing-folder",
        knn('"digits"', '"cifar10"\npath = "/nonexistent/c"'),
        "/nonexistent/c",
    ),
    ("knn-k-huge", NO_GRID.replace("k = 3", "k = " + "9" * 400), "nothing to retrain"),
    ("hidden-size-1e13", NET_NO_GRID.replace("[20]", "[10000000000000]"), "nothing to retrain"),
]

# (--set text, expected)
OVERRIDES: list[tuple[str, str]] = [
    ("novalue", "expected KEY=VALUE"),
    ("=3", "the key is empty"),
    ("model..k=3", "empty part"),
    (".model.k=3", "empty part"),
    ("nosuch.key=1", "nosuch"),
    ("model.nope=1", "model.nope"),
    ("model.k=-1", "model.k"),
    ("model.k=abc", "model.k"),
    ("model.k.sub=1", "model.k"),
    ("dataset=3", "dataset"),
    ("preprocess.9.k=3", "preprocess.9"),
    ("preprocess.x.k=1", "preprocess.x"),
    ("cv.grid.model.nope=[1]", "model.nope"),
    ("cv.folds=1", "cv.folds"),
    ("seed=abc", "seed"),
    ("seed=-1", "seed"),
    ("model.k=" + "[" * 5000 + "]" * 5000, "nested too deeply"),
]

CASES: list[Case] = [
    *(
        case(f"spec-{i}", ["spec", "check", "{t}/s.toml"], e, write("s.toml", s))
        for i, s, e in CHECKED
    ),
    *(case(f"spec-run-{i}", RUN, e, write("s.toml", s)) for i, s, e in RAN),
    *(
        case(
            f"set-{n}-{text[:20]}",
            ["spec", "check", "{t}/s.toml", "--set", text],
            e,
            write("s.toml", KNN),
        )
        for n, (text, e) in enumerate(OVERRIDES)
    ),
    case("seed-flag-abc", [*RUN, "--seed", "abc"], "--seed", write("s.toml", KNN)),
    case("seed-flag-float", [*RUN, "--seed", "1.5"], "--seed", write("s.toml", KNN)),
    case("seed-flag-empty", [*RUN, "--seed", ""], "--seed", write("s.toml", KNN)),
    case("seed-flag-negative", [*RUN, "--seed=-1"], "seed", write("s.toml", KNN)),
    case("seed-flag-2**64", [*RUN, "--seed", str(2**64)], "seed", write("s.toml", KNN)),
]
