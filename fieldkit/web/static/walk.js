// Walking a plot's boundary with the device's GPS (W3C geolocation: WGS-84). Without this file the form still
// takes a boundary file or typed coordinates.
(function () {
  "use strict";
  document.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  var form = document.getElementById("plot-form");
  var box = document.getElementById("walk");
  if (!form || !box) { return; }
  var en = document.documentElement.lang === "en";
  var walkChoice = form.querySelector('input[name="boundary_source"][value="walk"]');
  if (form.dataset.fresh === "1" && walkChoice) { walkChoice.checked = true; }

  var minAccuracy = parseFloat(box.dataset.minAccuracy);
  var maxVertices = parseInt(box.dataset.maxVertices, 10);
  var minStep = parseFloat(box.dataset.minStep);
  var input = document.getElementById("walk-fixes");
  var startButton = document.getElementById("walk-start");
  var stopButton = document.getElementById("walk-stop");
  var clearButton = document.getElementById("walk-clear");
  var fixes = [];
  try { fixes = JSON.parse(input.value || "[]"); } catch (e) { fixes = []; }
  var watch = null;
  var RAD = Math.PI / 180, R = 6371008.8, M2_PER_MU = 10000 / 15;

  function text(zh, english) { return en ? english : zh; }
  function say(message) { document.getElementById("walk-message").textContent = message; }

  function metres(a, b) {  // small distances: a local equirectangular plane is exact enough
    var x = (b.lon - a.lon) * RAD * Math.cos((a.lat + b.lat) / 2 * RAD) * R;
    var y = (b.lat - a.lat) * RAD * R;
    return Math.sqrt(x * x + y * y);
  }

  function areaMu() {  // a live estimate; the saved plot gets the geodesic area computed by gis
    if (fixes.length < 3) { return 0; }
    var o = fixes[0], sum = 0;
    function xy(p) { return [(p.lon - o.lon) * RAD * Math.cos(o.lat * RAD) * R, (p.lat - o.lat) * RAD * R]; }
    for (var i = 0; i < fixes.length; i++) {
      var a = xy(fixes[i]), b = xy(fixes[(i + 1) % fixes.length]);
      sum += a[0] * b[1] - b[0] * a[1];
    }
    return Math.abs(sum) / 2 / M2_PER_MU;
  }

  function show() {
    input.value = fixes.length ? JSON.stringify(fixes) : "";
    document.getElementById("walk-count").textContent = String(fixes.length);
    document.getElementById("walk-area").textContent = areaMu().toFixed(2);
    clearButton.disabled = fixes.length === 0;
  }

  function stop() {
    if (watch !== null) { navigator.geolocation.clearWatch(watch); watch = null; }
    startButton.disabled = false;
    stopButton.disabled = true;
  }

  function onFix(position) {
    var accuracy = position.coords.accuracy;
    document.getElementById("walk-accuracy").textContent = "±" + Math.round(accuracy) + text(" 米", " m");
    if (accuracy > minAccuracy) {
      say(text("定位精度不足，此点未记录；请到开阔处稍等。", "GPS accuracy too low; point not recorded. Wait in the open."));
      return;
    }
    var fix = {lon: position.coords.longitude, lat: position.coords.latitude, accuracy_m: accuracy,
               time: new Date(position.timestamp).toISOString()};
    if (fixes.length && metres(fixes[fixes.length - 1], fix) < minStep) { return; }  // standing still
    if (fixes.length >= maxVertices) {
      stop();
      say(text("已达到点数上限（" + maxVertices + "），已自动结束。", "Point limit (" + maxVertices + ") reached; finished."));
      return;
    }
    fixes.push(fix);
    say("");
    show();
  }

  function onError(error) {
    var messages = {
      1: text("未允许使用位置信息，请在浏览器设置中允许。", "Location permission denied; allow it in the browser settings."),
      2: text("暂时无法定位，请到开阔处重试。", "Position unavailable; try again in the open."),
      3: text("定位超时，仍在等待……", "Location timed out; still waiting…")
    };
    say(messages[error.code] || String(error.message));
    if (error.code === 1) { stop(); }
  }

  startButton.addEventListener("click", function () {
    if (!navigator.geolocation) { say(text("此浏览器不能定位，请改用文件或坐标。", "This browser cannot locate; use a file or coordinates.")); return; }
    if (walkChoice) { walkChoice.checked = true; }
    watch = navigator.geolocation.watchPosition(onFix, onError, {enableHighAccuracy: true, maximumAge: 0, timeout: 30000});
    startButton.disabled = true;
    stopButton.disabled = false;
    say(text("正在记录，请沿边界走一圈回到起点。", "Recording: walk around the boundary back to the start."));
  });
  stopButton.addEventListener("click", function () {
    stop();
    say(fixes.length >= 3 ? text("边界已记录，可以保存。", "Boundary recorded; you can save.")
                          : text("点数不足三个，请继续走或重来。", "Fewer than three points; walk on or start over."));
  });
  clearButton.addEventListener("click", function () { stop(); fixes = []; show(); say(""); });
  show();
})();
