/* The captive portal's pages: pay with M-Pesa, redeem a voucher or type a code, then log in at the
   router by posting its login form for the customer (CHAP, or PAP when the router sent no
   challenge). The router's parameters arrive on /portal and are kept in sessionStorage. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('portal-config').textContent);
  var T = cfg.strings;
  var ROUTER_KEYS = ['mac', 'ip', 'link-login-only', 'link-orig', 'chap-id', 'chap-challenge'];
  var KEY_ROUTER = 'hotspot.router', KEY_CREDENTIALS = 'hotspot.credentials', KEY_PAYMENT = 'hotspot.payment';
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  function $(id) { return document.getElementById(id); }
  function fmt(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }
  function save(key, value) { try { sessionStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }
  function load(key) { try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch (e) { return null; } }
  function pad(n) { return (n < 10 ? '0' : '') + n; }

  /* The router's parameters: those in this URL when the router just sent them, else the stored ones. */
  function router() {
    var params = new URLSearchParams(location.search), fromUrl = {};
    ROUTER_KEYS.forEach(function (key) { if (params.get(key)) fromUrl[key] = params.get(key); });
    if (fromUrl['link-login-only']) { save(KEY_ROUTER, fromUrl); return fromUrl; }
    var stored = load(KEY_ROUTER) || {};
    ROUTER_KEYS.forEach(function (key) { if (!stored[key] && fromUrl[key]) stored[key] = fromUrl[key]; });
    return stored;
  }

  function request(method, url, body, headers) {
    var options = { method: method, headers: headers || {}, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (res) {
      return res.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        return { status: res.status, body: parsed || {} };
      });
    });
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds)), days = Math.floor(s / 86400), rest = s % 86400;
    var text = Math.floor(rest / 3600) + ':' + pad(Math.floor(rest % 3600 / 60)) + ':' + pad(rest % 60);
    if (!days) return text;
    return cfg.lang === 'sw' ? 'siku ' + days + ' ' + text : days + ' ' + (days === 1 ? 'day' : 'days') + ' ' + text;
  }

  function roughly(seconds) {
    var minutes = Math.floor(seconds / 60), hours = Math.floor(minutes / 60), days = Math.floor(hours / 24);
    var sw = cfg.lang === 'sw', parts = [];
    if (days) parts.push(sw ? T.days + ' ' + days : days + ' ' + (days === 1 ? T.day : T.days));
    if (hours % 24) parts.push(sw ? T.hours_short + ' ' + hours % 24 : hours % 24 + ' ' + T.hours_short);
    if (!days && (minutes % 60 || !hours)) parts.push(sw ? T.minutes_short + ' ' + minutes % 60 : minutes % 60 + ' ' + T.minutes_short);
    return parts.join(' ');
  }

  function dataText(octets) {
    var units = [[1073741824, 'GB'], [1048576, 'MB'], [1024, 'KB']];
    for (var i = 0; i < units.length; i++) {
      if (octets >= units[i][0]) {
        var value = octets / units[i][0];
        return (value === Math.round(value) ? value.toFixed(0) : value.toFixed(1)) + ' ' + units[i][1];
      }
    }
    return octets + ' B';
  }

  /* Where the router sends the browser after a successful login. */
  function successUrl(username) {
    var r = router(), query = new URLSearchParams();
    if (username) query.set('u', username);
    if (r.mac) query.set('mac', r.mac);
    if (r['link-orig']) query.set('link-orig', r['link-orig']);
    return location.origin + cfg.successUrl + '?' + query.toString();
  }

  /* Credentials handed to this page: posted to the router at once, or, with auto-login off
     (cfg.autoLogin), shown with a button that posts them. Typed ones are posted: the customer
     asked. */
  function routerLogin(username, password, typed) {
    save(KEY_CREDENTIALS, { username: username, password: password, typed: Boolean(typed) });
    if (cfg.autoLogin || typed) { postLogin(username, password); return; }
    ['paid-status', 'voucher-status'].forEach(function (id) { if ($(id)) $(id).textContent = ''; });
    $('manual-username').textContent = username;
    $('manual-password').textContent = password;
    $('manual-login').hidden = false;
    $('manual-login-button').onclick = function () { postLogin(username, password); };
    $('manual-login').scrollIntoView();
  }

  /* Log in at the router as its own login.html would: a form posted to link-login-only, once the
     server found it is a registered router's (cfg.routerLogin; the page's CSP allows no other). */
  function postLogin(username, password, device) {
    var r = router();
    var dst = successUrl(device ? null : username);  /* a device's login: the page finds it by MAC */
    if (!cfg.routerLogin) { location.assign(dst); return; }
    var chap = r['chap-id'] && r['chap-challenge'];
    var form = document.createElement('form');
    form.method = 'post';
    form.action = cfg.routerLogin;
    form.hidden = true;
    var fields = {
      username: username,
      password: chap ? HotspotMD5.chapPassword(r['chap-id'], password, r['chap-challenge']) : password,
      dst: dst,
      popup: 'false'
    };
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function fieldError(element, input, text) {
    element.textContent = text || '';
    element.hidden = !text;
    if (input) input.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  /* --- /portal ---------------------------------------------------------------------------- */
  function packagesPage() {
    var r = router();
    var stored = load(KEY_CREDENTIALS);
    if ($('reconnect') && stored && stored.typed) {
      $('retry-code').hidden = false;  /* a typed code was refused: type it again */
    } else if ($('reconnect') && stored && cfg.routerLogin) {
      $('reconnect').hidden = false;  /* bought ones: the router may take them now */
      $('reconnect').addEventListener('click', function () { routerLogin(stored.username, stored.password); });
    }
    if (r.mac && r.mac !== '---') {
      request('GET', '/api/hotspot/session?mac=' + encodeURIComponent(r.mac)).then(function (res) {
        if (res.status !== 200 || !res.body.usable) return;
        if (!res.body.online) {
          /* A returning device: the router logs it in by its MAC (hotspot/access/devices.py). */
          if (!cfg.routerLogin) return;
          $('known-device-text').textContent = fmt(T.known_device, { time: roughly(res.body.seconds_left) });
          $('device-login').addEventListener('click', function () { postLogin(r.mac, r.mac, true); });
          $('known-device').hidden = false;
          return;
        }
        $('online-text').textContent = fmt(T.already_online, { time: roughly(res.body.seconds_left) });
        $('online-link').href = cfg.successUrl + '?mac=' + encodeURIComponent(r.mac);
        $('online').hidden = false;
      }, function () { /* the page works without it */ });
    }
  }

  /* --- /portal/pay/<id> ------------------------------------------------------------------- */
  function payPage() {
    var form = $('pay-form'), phone = $('phone'), error = $('phone-error'), button = $('pay-button');
    var buttonText = button.textContent, lastPhone = '', current = null, watcher = null;
    var gateway = cfg.gateways[0];
    button.disabled = false; // the page ships it disabled until this script runs

    /* The operator's gateways (more than one: a choice); each has its own words and number. */
    function choose(name) {
      cfg.gateways.forEach(function (each) { if (each.name === name) gateway = each; });
      $('pay-title').textContent = gateway.title;
      $('phone-label').textContent = gateway.label;
      $('phone-hint').textContent = gateway.hint;
      $('wait-step1').textContent = gateway.step1;
      phone.placeholder = gateway.placeholder;
      fieldError(error, phone, '');
    }
    if ($('gateways')) {
      $('gateways').addEventListener('change', function (event) { choose(event.target.value); });
    }

    function show(step) {
      ['step-phone', 'step-wait', 'step-failed', 'step-paid'].forEach(function (id) { $(id).hidden = id !== step; });
    }
    function busy(on) { button.disabled = on; button.textContent = on ? T.sending : buttonText; }
    /* Only the browser that started a payment may read it: its portal token proves that. */
    function mine() { return { 'X-Portal-Token': current.token }; }
    function stopWatching() {
      if (!watcher) return;
      if (watcher.source) watcher.source.close();
      clearInterval(watcher.timer);
      watcher = null;
    }

    function phoneReason(reason) {
      reason = reason || T.network_error;
      if (cfg.lang === 'sw') {
        for (var i = 0; i < cfg.phoneReasonsSw.length; i++) {
          if (new RegExp(cfg.phoneReasonsSw[i][0], 'i').test(reason)) return cfg.phoneReasonsSw[i][1];
        }
      }
      return reason.charAt(0).toUpperCase() + reason.slice(1);
    }

    function start(value) {
      value = (value || '').trim();
      if (!value) { show('step-phone'); fieldError(error, phone, T.phone_empty); phone.focus(); return; }
      fieldError(error, phone, '');
      lastPhone = value;
      busy(true);
      var r = router();
      request('POST', '/api/payments', {
        package_id: cfg.packageId, phone: value, mac: r.mac || null, ip: r.ip || null,
        link_login_only: cfg.routerLogin, gateway: gateway.name
      }).then(function (res) {
        busy(false);
        if (res.status === 201) {
          waitFor({ id: res.body.id, token: res.body.portal_token, packageId: cfg.packageId, phone: value, gateway: gateway.name, at: Date.now() });
        } else if (res.status === 422) {
          show('step-phone');
          fieldError(error, phone, phoneReason(res.body.error));
          phone.focus();
        } else if (res.body.status === 'failed') {
          failed(res.body.failure_kind, res.body.failure_reason || res.body.error);
        } else {
          show('step-phone');
          fieldError(error, null, res.body.error || T.network_error);
        }
      }, function () {
        busy(false);
        show('step-phone');
        fieldError(error, null, T.network_error);
      });
    }

    function waitFor(payment) {
      current = payment;
      save(KEY_PAYMENT, payment);
      if (payment.gateway && payment.gateway !== gateway.name) choose(payment.gateway);
      $('wait-text').textContent = fmt(gateway.wait, { phone: payment.phone, price: cfg.price });
      $('wait-status').textContent = T.waiting;
      show('step-wait');
      watch(payment.id);
    }

    /* Server-Sent Events first; polling when they fail, and now and then anyway. */
    function watch(id) {
      stopWatching();
      var w = { ticks: 0, done: false };
      watcher = w;
      function settle(status) {
        if (w.done || !status || status === 'pending') return;
        w.done = true;
        stopWatching();
        settled(id, status);
      }
      if (window.EventSource) {
        w.source = new EventSource('/api/payments/' + id + '/events?token=' + encodeURIComponent(current.token));
        w.source.addEventListener('status', function (event) {
          try { settle(JSON.parse(event.data).status); } catch (e) { /* ignore a bad event */ }
        });
        w.source.onerror = function () { if (w.source) { w.source.close(); w.source = null; } };
      }
      w.timer = setInterval(function () {
        w.ticks += 1;
        if (w.source && w.ticks % 5) return;
        request('GET', '/api/payments/' + id, undefined, mine()).then(function (res) {
          if (res.status === 200) settle(res.body.status);
        }, function () { /* next tick */ });
      }, 1000);
    }

    function settled(id, status) {
      if (status === 'paid') {
        show('step-paid');
        fetchCredentials(id, 0);
        return;
      }
      request('GET', '/api/payments/' + id, undefined, mine()).then(function (res) {
        failed(res.body.failure_kind, res.body.failure_reason);
      }, function () { failed(status === 'expired' ? 'expired' : null, null); });
    }

    function fetchCredentials(id, attempt) {
      function again() {
        if (attempt < 20) setTimeout(function () { fetchCredentials(id, attempt + 1); }, 500);
        else $('paid-status').textContent = T.network_error;
      }
      request('GET', '/api/payments/' + id + '/credentials', undefined, mine())
        .then(function (res) {
          if (res.status === 200) {
            save(KEY_PAYMENT, null);
            $('paid-status').textContent = T.logging_in;
            routerLogin(res.body.username, res.body.password);
          } else if (res.status === 409) {
            again();
          } else {
            $('paid-status').textContent = res.body.error || T.network_error;
          }
        }, again);
    }

    /* `kind` is the payment's failure_kind; the page has its own words for some of them. */
    function failed(failureKind, reason) {
      save(KEY_PAYMENT, null);
      var kind = failureKind && T['fail_' + failureKind + '_title'] ? failureKind : null;
      $('failed-title').textContent = kind ? T['fail_' + kind + '_title'] : T.failed_title;
      $('failed-reason').textContent = kind && cfg.lang === 'sw' ? cfg.failureReasonsSw[kind] : (reason || '');
      $('failed-help').textContent = kind ? T['fail_' + kind + '_help'] : T.fail_other_help;
      show('step-failed');
      $('retry').focus();
    }

    form.addEventListener('submit', function (event) { event.preventDefault(); start(phone.value); });
    phone.addEventListener('input', function () { fieldError(error, phone, ''); });
    $('retry').addEventListener('click', function () { start(lastPhone); });
    function another() { stopWatching(); save(KEY_PAYMENT, null); show('step-phone'); phone.focus(); }
    $('other-number').addEventListener('click', another);
    $('no-prompt').addEventListener('click', another);

    /* Back on this page while a payment is under way (the browser reloaded it): carry on. */
    var pending = load(KEY_PAYMENT);
    if (pending && pending.packageId === cfg.packageId && Date.now() - pending.at < 5 * 60 * 1000) {
      lastPhone = pending.phone;
      phone.value = pending.phone;
      waitFor(pending);
    }
  }

  /* --- /portal/voucher -------------------------------------------------------------------- */
  function voucherPage() {
    var form = $('voucher-form'), input = $('code'), error = $('code-error'), button = $('voucher-button');
    button.disabled = false;
    /* A printed card's QR code brings the code in the fragment (never sent to a server): fill it
       in, and take it off the address bar so it is not bookmarked or shared with the page. */
    var carried = /(?:^|&)code=([A-Za-z0-9]{1,20})(?:&|$)/.exec(location.hash.slice(1));
    if (carried) {
      input.value = carried[1].toUpperCase();
      history.replaceState(null, '', location.pathname + location.search);
      button.focus();
    }
    input.addEventListener('input', function () { fieldError(error, input, ''); });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var code = input.value.trim();
      if (!code) { fieldError(error, input, T.voucher_empty); input.focus(); return; }
      fieldError(error, input, '');
      button.disabled = true;
      $('voucher-status').textContent = T.logging_in;
      var r = router();
      request('POST', '/api/vouchers/redeem', { code: code, mac: r.mac || null, link_login_only: cfg.routerLogin }).then(function (res) {
        if (res.status === 200) { routerLogin(res.body.username, res.body.password); return; }
        button.disabled = false;
        $('voucher-status').textContent = '';
        fieldError(error, input, res.status === 404 ? T.voucher_invalid
          : res.status === 422 ? T.voucher_empty : (res.body.error || T.network_error));
        input.focus();
      }, function () {
        button.disabled = false;
        $('voucher-status').textContent = '';
        fieldError(error, null, T.network_error);
      });
    });
  }

  /* --- /portal/login ---------------------------------------------------------------------- */
  function codePage() {
    var form = $('code-form'), user = $('username'), pass = $('password'), error = $('code-error');
    $('code-button').disabled = false;
    [user, pass].forEach(function (input) {
      input.addEventListener('input', function () { fieldError(error, null, ''); });
    });
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var username = user.value.trim(), password = pass.value.trim();
      if (!username || !password) { fieldError(error, null, T.fields_empty); (username ? pass : user).focus(); return; }
      fieldError(error, null, '');
      $('code-button').disabled = true;
      $('code-status').textContent = T.logging_in;
      routerLogin(username, password, true);
    });
  }

  /* --- /portal/success -------------------------------------------------------------------- */
  function successPage() {
    var left = $('time-left');
    if (!left) return;
    var seconds = Number(left.getAttribute('data-seconds')) || 0, started = Date.now();
    function tick() { left.textContent = clock(seconds - (Date.now() - started) / 1000); }
    setInterval(tick, 1000);
    if (cfg.expiresAt) {
      var end = new Date(cfg.expiresAt), time = pad(end.getHours()) + ':' + pad(end.getMinutes());
      var when = cfg.lang === 'sw' ? time + ', tarehe ' + end.getDate() + '/' + (end.getMonth() + 1)
        : time + ', ' + end.getDate() + ' ' + MONTHS[end.getMonth()];
      $('time-until').textContent = fmt(T.until, { when: when });
    }
    var stored = load(KEY_CREDENTIALS);
    if (stored && cfg.username && stored.username === cfg.username) {
      $('cred-username').textContent = stored.username;
      $('cred-password').textContent = stored.password;
      $('other-device').hidden = false;
    }
    if (stored && cfg.username && stored.username === cfg.username && $('log-out')) {
      $('log-out').hidden = false;
      $('log-out').addEventListener('click', function () { logOut(stored); });
    }
    var orig = new URLSearchParams(location.search).get('link-orig') || router()['link-orig'];
    if ($('continue') && orig && /^https?:\/\//i.test(orig)) {
      $('continue').href = orig;
      $('continue').hidden = false;
    }
    if (cfg.username) {
      setInterval(function () {
        request('GET', '/api/hotspot/session?username=' + encodeURIComponent(cfg.username)).then(function (res) {
          if (res.status !== 200) return;
          seconds = res.body.seconds_left;
          started = Date.now();
          if (res.body.data_left_bytes !== null && $('data-left')) $('data-left').textContent = dataText(res.body.data_left_bytes);
        }, function () { /* keep counting */ });
      }, 60000);
    }
  }

  /* Ends this device's session (the MAC and IP the router named; all of the account's without
     them), proven by the credentials this browser was handed. */
  function logOut(stored) {
    var r = router(), button = $('log-out'), status = $('log-out-status');
    var mac = new URLSearchParams(location.search).get('mac') || r.mac;
    button.disabled = true;
    status.textContent = T.logging_out;
    request('POST', '/api/hotspot/logout', {
      username: stored.username, password: stored.password,
      mac: mac && mac !== '---' ? mac : null, ip: r.ip || null
    }).then(function (res) {
      if (res.status === 202) {
        status.textContent = T.logged_out;
        button.hidden = true;
        if ($('continue')) $('continue').hidden = true;
        return;
      }
      button.disabled = false;
      status.textContent = res.body.error || T.log_out_failed;
    }, function () {
      button.disabled = false;
      status.textContent = T.log_out_failed;
    });
  }

  router();
  var pages = { packages: packagesPage, pay: payPage, voucher: voucherPage, code: codePage, success: successPage };
  var run = pages[document.body.getAttribute('data-page')];
  if (run) run();
})();
