// The page's own behaviour, run once when it loads (app.py passes this file to gradio's launch).
() => {
  window.pizzaiolo = {
    point: "",  // the pixel of the sheet last clicked, "x,y", for the "how it's made" event

    // The address carries the sheet shown, so that it can be shared. A plain visit keeps a plain
    // address until something is drawn (always), or until a link's values are read back.
    remember(link, always) {
      if (link && (always || location.search)) history.replaceState(null, "", "?" + link);
    },

    // "Copy link": the clipboard where the page may write to it (https, localhost), else a box to
    // copy the link from by hand.
    async copyLink(link) {
      const url = location.origin + location.pathname + (link ? "?" + link : "");
      const button = document.getElementById("copy-link");
      try {
        await navigator.clipboard.writeText(url);
        button?.classList.add("copied");
        setTimeout(() => button?.classList.remove("copied"), 2000);
      } catch (error) {
        window.prompt("Copy this link:", url);
      }
    },

    // Bring `selector` into view once its new pictures have arrived, and again once they have loaded
    // and taken their size, unless the `status` line has a message to read. On a narrow screen
    // (results and controls stacked) it comes to the top; on a wide one the page moves only when the
    // pictures lie below the fold (a tall recipe can push them there), just enough to show them.
    bringIntoView(selector, status) {
      if (document.querySelector(status)?.textContent.trim()) return;
      const block = window.innerWidth >= 1024 ? "nearest" : "start";
      const show = () => document.querySelector(selector)?.scrollIntoView({block});
      setTimeout(() => {
        show();
        document.querySelectorAll(selector + " img").forEach(img => {
          if (!img.complete) img.addEventListener("load", show, {once: true});
        });
      }, 0);
    },
  };

  // A click on the sheet: the pixel of the sheet as drawn (the page shows it enlarged, fitted into
  // its box), for the server to find the pizza there and show how it is made.
  document.addEventListener("click", event => {
    const img = event.target.closest?.("#pizzas img");
    if (!img || !img.naturalWidth) return;
    const box = img.getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    const x = (event.clientX - box.left - (box.width - img.naturalWidth * scale) / 2) / scale;
    const y = (event.clientY - box.top - (box.height - img.naturalHeight * scale) / 2) / scale;
    window.pizzaiolo.point = `${Math.floor(x)},${Math.floor(y)}`;
    document.getElementById("cook-trigger")?.click();
  });

  // Keys. Enter in a slider's number box lets go of the slider (gradio sends "release" on blur),
  // which redraws. Enter in an ingredient picker takes the match the list shows first (the
  // highlighted one), once the list has caught up with the typing; only text that matches nothing
  // is added as typed, for the recipe check to name with suggestions.
  document.addEventListener("keydown", event => {
    const box = event.target;
    if (event.key !== "Enter" || !box.matches || event.passThrough) return;
    if (box.matches("input[type=number][aria-label^='number input for']")) {
      box.blur();
      return;
    }
    if (!box.matches("input[role=combobox]") || !box.closest(".ingredient-picker") || !box.value.trim()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    requestAnimationFrame(() => setTimeout(() => {
      const list = document.getElementById(box.getAttribute("aria-controls"));
      const options = list ? [...list.querySelectorAll("li[role=option]")] : [];
      const option = options.find(o => o.classList.contains("active")) || options[0];
      if (!option) {
        const again = new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true});
        again.passThrough = true;
        box.dispatchEvent(again);
      } else if (option.getAttribute("aria-selected") !== "true") {
        option.dispatchEvent(new MouseEvent("mousedown", {bubbles: true, cancelable: true}));
      } else {  // already picked: nothing to add
        box.value = "";
        box.dispatchEvent(new Event("input", {bubbles: true}));
      }
    }, 0));
  }, true);
}
