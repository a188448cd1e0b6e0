// Admin import job page: while the dry run or the import runs, poll the job's status and fill the progress bar;
// when the phase ends, reload so the page shows the dry run's changes or the import's report.
"use strict";
(function () {
    function ready(fn) {
        if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
    }
    ready(function () {
        var box = document.getElementById("import-progress");
        if (!box || box.dataset.active !== "true") { return; }
        var bar = document.getElementById("import-progress-bar");
        var percent = document.getElementById("import-percent");
        var rows = document.getElementById("import-rows");
        var status = document.getElementById("import-status");
        var waiting = document.getElementById("import-waiting");
        var failures = 0;

        function show(state) {
            bar.value = state.percent;
            bar.textContent = state.percent + " %";
            percent.textContent = state.percent + " %";
            rows.textContent = state.rows;
            status.textContent = state.status_display;
            if (waiting && state.rows > 0) { waiting.hidden = true; }
        }

        function poll() {
            fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
                .then(function (response) {
                    if (!response.ok) { throw new Error("status " + response.status); }
                    return response.json();
                })
                .then(function (state) {
                    failures = 0;
                    show(state);
                    if (!state.active) {
                        // The phase ended: the page itself shows what comes next (the dry run, the report, an error).
                        window.setTimeout(function () { window.location.reload(); }, 400);
                        return;
                    }
                    window.setTimeout(poll, 700);
                })
                .catch(function () {
                    failures += 1;
                    window.setTimeout(poll, Math.min(10000, 1000 * failures));
                });
        }
        poll();
    });
})();
