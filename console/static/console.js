// Small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Refuse an oversized attachment before it is sent, with the same message the server gives.
  for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
    input.addEventListener("change", () => {
      const limit = Number(input.dataset.maxBytes);
      const file = input.files && input.files[0];
      const message = document.getElementById(input.dataset.errorTarget);
      const tooBig = Boolean(file && file.size > limit);
      input.setCustomValidity(tooBig ? input.dataset.tooLargeMessage : "");
      if (message) {
        message.textContent = tooBig ? input.dataset.tooLargeMessage : "";
      }
    });
  }

  // Show only the fields that belong to the chosen decision.
  for (const select of document.querySelectorAll("select[data-decision-select]")) {
    const form = select.closest("form");
    const sync = () => {
      for (const group of form.querySelectorAll("[data-for-decisions]")) {
        const wanted = group.dataset.forDecisions.split(" ");
        const shown = wanted.includes(select.value);
        group.hidden = !shown;
        group.disabled = !shown; // a disabled fieldset's fields are not submitted
      }
    };
    select.addEventListener("change", sync);
    sync();
  }

  // Print button (inline handlers are blocked by the content security policy).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
