// Goods in / stock-take by barcode: a scanner types the ISBN and Enter; the batch lives here until committed.
"use strict";
(function () {
    function ready(fn) {
        if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
    }
    ready(function () {
        var form = document.getElementById("scan-form");
        if (!form) { return; }
        var input = document.getElementById("scan-isbn");
        var body = document.querySelector("#scan-lines tbody");
        var unknownList = document.getElementById("scan-unknown");
        var unknownSection = document.getElementById("scan-unknown-section");
        var lookup = form.dataset.lookup;
        var rows = {};      // ISBN-13 -> row
        var unknown = {};   // typed text -> list item
        var queue = Promise.resolve();

        function totals() {
            var copies = 0, titles = 0;
            body.querySelectorAll("input[name=count]").forEach(function (field) {
                copies += parseInt(field.value, 10) || 0; titles += 1;
            });
            document.getElementById("scan-total").textContent = copies;
            document.getElementById("scan-total-plural").textContent = copies === 1 ? "y" : "ies";
            document.getElementById("scan-titles").textContent = titles;
        }

        function cell(text, cls) {
            var td = document.createElement("td");
            td.textContent = text;
            if (cls) { td.className = cls; }
            return td;
        }

        function addBook(book) {
            var row = rows[book.isbn];
            if (row) {
                var field = row.querySelector("input[name=count]");
                field.value = (parseInt(field.value, 10) || 0) + 1;
                body.prepend(row);
            } else {
                row = document.createElement("tr");
                row.dataset.isbn = book.isbn;
                row.appendChild(cell(book.title));
                row.appendChild(cell(book.isbn, "desk-mono"));
                row.appendChild(cell(String(book.stock), "desk-num"));
                var td = document.createElement("td");
                var hidden = document.createElement("input");
                hidden.type = "hidden"; hidden.name = "isbn"; hidden.value = book.isbn;
                var count = document.createElement("input");
                count.type = "number"; count.name = "count"; count.min = form.dataset.mode === "goods_in" ? "1" : "0";
                count.value = "1"; count.className = "scan-count";
                count.setAttribute("aria-label", "Count of " + book.title);
                count.addEventListener("input", totals);
                td.appendChild(hidden); td.appendChild(count);
                row.appendChild(td);
                var remove = document.createElement("button");
                remove.type = "button"; remove.textContent = "Remove";
                remove.setAttribute("aria-label", "Remove " + book.title);
                remove.addEventListener("click", function () { delete rows[book.isbn]; row.remove(); totals(); input.focus(); });
                var rtd = document.createElement("td"); rtd.appendChild(remove); row.appendChild(rtd);
                rows[book.isbn] = row;
                body.prepend(row);
            }
            row.classList.remove("scan-flash"); void row.offsetWidth; row.classList.add("scan-flash");
            totals();
        }

        function addUnknown(text, why) {
            var item = unknown[text];
            if (item) {
                item.dataset.count = String(parseInt(item.dataset.count, 10) + 1);
            } else {
                item = document.createElement("li");
                item.dataset.count = "1";
                var hidden = document.createElement("input");
                hidden.type = "hidden"; hidden.name = "unknown"; hidden.value = text;
                item.appendChild(hidden);
                item.appendChild(document.createElement("span"));
                unknown[text] = item;
                unknownList.appendChild(item);
            }
            item.querySelector("span").textContent = text + " — " + why + " (scanned " + item.dataset.count + "×)";
            unknownSection.hidden = false;
        }

        function scan(text) {
            return fetch(lookup + "?isbn=" + encodeURIComponent(text), {credentials: "same-origin", headers: {"Accept": "application/json"}})
                .then(function (response) {
                    return response.json().then(function (data) {
                        if (response.ok) { addBook(data); } else { addUnknown(text, data.error || "unknown"); }
                    });
                })
                .catch(function () { addUnknown(text, "could not be looked up"); });
        }

        input.addEventListener("keydown", function (event) {
            if (event.key !== "Enter") { return; }
            event.preventDefault();
            if (event.ctrlKey) { form.requestSubmit(); return; }
            var text = input.value.trim();
            input.value = "";
            if (!text) { return; }
            // One scan after the other, so repeated ISBNs count up in one row whatever the network does.
            queue = queue.then(function () { return scan(text); });
        });
        form.addEventListener("keydown", function (event) {
            if (event.key !== "Enter" || event.target === input) { return; }
            if (event.target.name === "count" || event.target.id === "scan-reference") {
                event.preventDefault();
                if (event.ctrlKey) { form.requestSubmit(); } else { input.focus(); }
            }
        });
        form.addEventListener("submit", function (event) {
            if (form.dataset.ready) { return; }
            event.preventDefault();
            if (form.dataset.submitting) { return; }
            if (!body.querySelector("tr") && !unknownList.querySelector("li")) { input.focus(); return; }
            form.dataset.submitting = "1";
            // The scans still being looked up finish before the batch is sent.
            queue.then(function () { form.dataset.ready = "1"; form.submit(); });
        });
        // Focused only now, not by an autofocus attribute: a scan typed before these handlers exist would
        // submit the form on its Enter and be lost.
        input.focus();
    });
}());
