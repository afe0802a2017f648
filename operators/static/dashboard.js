/* S.O.S. Amico Giovani — the dashboard's one script: live updates (EventSource), forms that
 * send without reloading (fetch), quick replies, and the crisis alert (visible and audible).
 * Everything the server sends is already escaped HTML built from its templates: this script
 * never builds markup from message text. */
(function () {
  "use strict";

  var body = document.body;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var seenEvents = {};
  var refreshTimer = null;
  var alertCount = 0;
  var originalTitle = document.title;

  function $(id) { return document.getElementById(id); }

  function request(url, options) {
    options = options || {};
    options.headers = options.headers || {};
    options.headers["X-Requested-With"] = "fetch";
    options.credentials = "same-origin";
    if (options.method && options.method !== "GET") {
      options.headers["X-CSRFToken"] = csrfToken;
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 401) {
        window.location.reload();  // the login ended: the server sends us to the login page
        throw new Error("login ended");
      }
      return response;
    });
  }

  /* ---- sound: a short two-tone chime made with WebAudio (no audio files) ---- */
  var audio = null;
  function soundOn() { return window.localStorage.getItem("sos-sound") !== "off"; }
  function unlockAudio() {
    if (!soundOn()) { return; }
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    if (!audio) { audio = new Ctx(); }
    if (audio.state === "suspended") { audio.resume(); }
  }
  function chime() {
    if (!soundOn()) { return false; }
    unlockAudio();
    if (!audio) { return false; }
    var start = audio.currentTime + 0.05;
    [0, 0.35, 0.7].forEach(function (offset, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.32);
    });
    body.dataset.sounds = String(Number(body.dataset.sounds || 0) + 1);
    return true;
  }
  function showSoundState() {
    var button = $("sound-toggle");
    if (!button) { return; }
    var on = soundOn();
    button.textContent = on ? "Suono: sì" : "Suono: no";
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  /* ---- alerts: a crisis, a crisis nobody answered, a listener asking for support ---- */
  function ring(change, title, text, tab) {
    var box = $("crisis-alert");
    if (!box) { return; }
    alertCount += 1;
    body.dataset.alerts = String(alertCount);
    var link = $("crisis-alert-link");
    if (link && change.conversation) {
      link.setAttribute("href", "/conversations/" + encodeURIComponent(change.conversation));
    }
    $("crisis-alert-title").textContent = title;
    $("crisis-alert-text").textContent = text;
    box.hidden = false;
    document.title = tab + " · " + originalTitle;
    chime();
  }
  function crisisAlert(change) {
    ring(change, "⚠ Crisi segnalata", alertCount > 0
      ? "Ci sono nuove conversazioni urgenti (" + (alertCount + 1) + ")."
      : "Una conversazione urgente ha bisogno di un volontario.", "⚠ CRISI");
  }
  function unansweredAlert(change) {
    ring(change, "⚠ Crisi senza risposta",
      "Una crisi aspetta ancora la risposta di un volontario.", "⚠ CRISI");
  }
  function supportAlert(change) {
    body.dataset.supportAlerts = String(Number(body.dataset.supportAlerts || 0) + 1);
    ring(change, "🆘 Richiesta di supporto",
      "Un volontario chiede il supporto di un coordinatore.", "🆘 SUPPORTO");
  }
  function dismissAlert() {
    var box = $("crisis-alert");
    if (box) { box.hidden = true; }
    alertCount = 0;
    document.title = originalTitle;
  }

  /* ---- swapping server-rendered parts of the page ---- */
  // A form was sent (e.g. "Prendi in carico"): its answer is the next page, so a reload now
  // would drop it, and with it the message the server has for us.
  var leaving = false;
  window.addEventListener("beforeunload", function () { leaving = true; });
  function typing() {
    var boxes = document.querySelectorAll("textarea");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].value.trim()) { return true; }
    }
    return false;
  }
  function nearBottom(el) {
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }
  function scrollThread() {
    ["thread", "sim-thread"].forEach(function (id) {
      var el = $(id);
      if (el) { el.scrollTop = el.scrollHeight; }
    });
  }
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var thread = $("thread") || $("sim-thread");
    var stick = nearBottom(thread);
    doc.querySelectorAll("[data-swap][id]").forEach(function (fresh) {
      var current = $(fresh.id);
      if (current) { current.replaceWith(document.importNode(fresh, true)); }
    });
    if (stick) { scrollThread(); }
    var simState = $("sim-state");
    if (simState && simState.dataset.conversation) {
      body.dataset.conversation = simState.dataset.conversation;
    }
    var head = $("conv-head");
    if (head && body.dataset.state && head.dataset.state !== body.dataset.state) {
      // Someone else claimed, transferred, released or closed it: the actions must change.
      if (leaving) { return; }
      if (!typing()) { window.location.reload(); return; }
      var notice = $("live-status");
      notice.textContent = "La conversazione è cambiata: ricarica la pagina per vedere le azioni possibili.";
      notice.hidden = false;
    }
  }
  function refresh() {
    var url = body.dataset.refresh;
    if (!url) { return; }
    request(url).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(swap).catch(function () { /* the next change or the timer tries again */ });
  }
  function scheduleRefresh() {
    if (refreshTimer) { return; }
    refreshTimer = window.setTimeout(function () { refreshTimer = null; refresh(); }, 200);
  }

  /* ---- the live stream ---- */
  function relevant(change) {
    var page = body.dataset.page;
    if (page === "queue") { return change.kind !== "status" && change.kind !== "note"; }
    if (page === "conversation") { return change.conversation === body.dataset.conversation; }
    if (page === "simulator") {
      return !body.dataset.conversation || change.conversation === body.dataset.conversation;
    }
    return false;
  }
  function connect() {
    var url = body.dataset.live;
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url + "?after=" + encodeURIComponent(body.dataset.lastEvent || "0"));
    var failures = 0;
    source.addEventListener("open", function () {
      failures = 0;
      $("live-status").hidden = true;
      body.dataset.liveReady = "1";
    });
    source.addEventListener("change", function (event) {
      if (seenEvents[event.lastEventId]) { return; }
      seenEvents[event.lastEventId] = true;
      body.dataset.lastEvent = event.lastEventId;
      var change = JSON.parse(event.data);
      if (change.kind === "crisis") { crisisAlert(change); }
      if (change.kind === "alert") { unansweredAlert(change); }
      if (change.kind === "support" && body.dataset.role === "coordinator") { supportAlert(change); }
      if (relevant(change)) { scheduleRefresh(); }
    });
    source.addEventListener("ended", function () {
      source.close();  // the login ended (logout elsewhere, account disabled): to the login form
      window.location.reload();
    });
    source.addEventListener("error", function () {
      failures += 1;
      if (failures > 2) { $("live-status").hidden = false; }
      if (source.readyState === EventSource.CLOSED) {
        // Refused (the login ended?) or the server is away: try again a little later.
        window.setTimeout(function () {
          request(body.dataset.refresh || "/queue").then(function () { connect(); })
            .catch(function () { window.setTimeout(connect, 10000); });
        }, 5000);
      }
    });
  }

  /* ---- forms ---- */
  function sendForm(form) {
    var error = form.querySelector(".form-error");
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    request(form.action, { method: "POST", body: new FormData(form) }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (result.ok) {
        form.querySelectorAll("textarea").forEach(function (t) { t.value = ""; });
        var quick = form.querySelector("select[name=quick]");
        if (quick) { quick.value = ""; }
        forgetReferral();
        if (error) { error.hidden = true; }
        refresh();
      } else if (error) {
        error.textContent = result.data.message || "Non è stato possibile inviare.";
        error.hidden = false;
      }
    }).catch(function () {
      if (error) {
        error.textContent = "Connessione assente: il messaggio non è stato inviato. Riprova.";
        error.hidden = false;
      }
    }).then(function () {
      if (button) { button.disabled = false; }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-fetch")) {
      event.preventDefault();
      sendForm(form);
      return;
    }
    var button = form.querySelector("button[type=submit]");
    if (button) {  // no double submissions (a second claim would only be refused)
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form
        && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  /* ---- referral: a service's card into the reply box; sending it counts the referral ---- */
  function forgetReferral() {
    if ($("refer-service")) { $("refer-service").value = ""; $("refer-topic").value = ""; }
  }

  function filterServices() {
    var topic = $("refer-filter-topic").value, zone = $("refer-filter-zone").value, shown = 0;
    document.querySelectorAll("#refer-list li[data-topics]").forEach(function (item) {
      var topics = item.getAttribute("data-topics").split(" ");
      var zones = item.getAttribute("data-zones");
      var fits = (!topic || topics.indexOf(topic) >= 0)
        && (!zone || !zones || zones.split("|").indexOf(zone) >= 0);
      item.hidden = !fits;
      if (fits) { shown += 1; }
    });
    $("refer-empty").hidden = shown > 0;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-refer]") : null;
    if (!button) { return; }
    var box = $("reply-body");
    box.value = button.getAttribute("data-card");
    $("refer-service").value = button.getAttribute("data-refer");
    $("refer-topic").value = $("refer-filter-topic").value;
    box.focus();
  });

  document.addEventListener("input", function (event) {
    if (event.target.id === "reply-body" && !event.target.value.trim()) { forgetReferral(); }
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.id === "refer-filter-topic" || select.id === "refer-filter-zone") {
      filterServices();
      return;
    }
    if (select.id === "quick" && select.value) {
      var option = select.options[select.selectedIndex];
      var box = $("reply-body");
      box.value = option.getAttribute("data-text");
      forgetReferral();
      box.focus();
    }
  });

  /* ---- presence: using the page keeps "in turno" going (automatic requests do not) ---- */
  var lastSeen = Date.now();
  function stillHere() {
    if (!body.dataset.live || Date.now() - lastSeen < 60000) { return; }
    lastSeen = Date.now();
    request("/presence/seen", { method: "POST" }).catch(function () { /* next time */ });
  }
  document.addEventListener("keydown", stillHere);

  document.addEventListener("click", function (event) {
    unlockAudio();  // browsers allow sound only after the person touched the page
    stillHere();
    if (event.target.id === "sound-toggle") {
      window.localStorage.setItem("sos-sound", soundOn() ? "off" : "on");
      showSoundState();
      if (soundOn()) { chime(); }
    }
    if (event.target.id === "crisis-alert-close") { dismissAlert(); }
  });

  showSoundState();
  scrollThread();
  connect();
  if (body.dataset.refresh) {
    window.setInterval(refresh, 30000);  // waiting times, and a safety net for missed changes
  }
})();
