//! Integration tests of the gateway with a raw websocket client (byte-exact frames): upgrade
//! refusals, framing and validation errors per version, repeated message ids, outbound CALL
//! queueing and timeouts, replacement, pings and dead peers, the connection cap, message size,
//! TLS and shutdown.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use ocpp_gateway::messages::v16::{RemoteStartStopStatus, RemoteStartTransactionRequest};
use ocpp_gateway::{CallError, ErrorCode, GatewayConfig, OcppVersion, TlsConfig};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn boot16() -> Value {
    json!({"chargePointVendor": "V", "chargePointModel": "M"})
}

fn boot201() -> Value {
    json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}})
}

#[tokio::test]
async fn boot_and_heartbeat_in_both_versions() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let r = call(&mut ws, "1", "BootNotification", boot16()).await;
    assert_eq!(r[0], 3);
    assert_eq!(r[1], "1");
    assert_eq!(r[2]["status"], "Accepted");
    assert_eq!(r[2]["interval"], 300);
    let r = call(&mut ws, "2", "Heartbeat", json!({})).await;
    assert!(r[2]["currentTime"].as_str().unwrap().ends_with('Z'));

    let mut ws = charger(&gw, "CP2", "ocpp2.0.1").await;
    let r = call(&mut ws, "1", "BootNotification", boot201()).await;
    assert_eq!(r[2]["status"], "Accepted");
    let h = gw.gateway.charger("CP2").unwrap();
    assert_eq!(h.version(), OcppVersion::V201);
    assert!(!h.session().tls);
    assert_eq!(gw.gateway.connected_count(), 2);
}

#[tokio::test]
async fn subprotocol_is_the_first_supported_offer() {
    let gw = start(test_config()).await;
    let (_ws, proto) = connect(&gw, "CP1", "ocpp2.1, ocpp2.0.1, ocpp1.6", Some(PASSWORD))
        .await
        .unwrap();
    assert_eq!(proto.as_deref(), Some("ocpp2.0.1"));
    let (_ws, proto) = connect(&gw, "CP2", "ocpp1.6, ocpp2.0.1", Some(PASSWORD))
        .await
        .unwrap();
    assert_eq!(proto.as_deref(), Some("ocpp1.6"));
    let only16 = start(GatewayConfig {
        versions: vec![OcppVersion::V16],
        ..test_config()
    })
    .await;
    assert_eq!(
        refused_status(&only16, "CP1", "ocpp2.0.1", Some(PASSWORD)).await,
        400
    );
}

#[tokio::test]
async fn upgrades_are_refused_before_the_websocket_exists() {
    let gw = start(test_config()).await;
    assert_eq!(
        refused_status(&gw, "NOPE", "ocpp1.6", Some(PASSWORD)).await,
        404,
        "unknown charger"
    );
    assert_eq!(
        refused_status(&gw, "CP1", "ocpp1.6", Some("wrong")).await,
        401,
        "wrong password"
    );
    assert_eq!(
        refused_status(&gw, "CP1", "ocpp1.6", None).await,
        401,
        "missing password"
    );
    assert_eq!(
        refused_status(&gw, "CP1", "", Some(PASSWORD)).await,
        400,
        "no subprotocol"
    );
    assert_eq!(
        refused_status(&gw, "CP1", "ocpp2.1, mqtt", Some(PASSWORD)).await,
        400,
        "unsupported subprotocols"
    );
    // profile 0 charger: no credentials needed
    let (_ws, proto) = connect(&gw, "OPEN", "ocpp1.6", None).await.unwrap();
    assert_eq!(proto.as_deref(), Some("ocpp1.6"));
    assert!(
        gw.recorder
            .events()
            .iter()
            .all(|e| !e.contains("NOPE") && !e.contains("CP1")),
        "{:?}",
        gw.recorder.events()
    );
    tokio::time::timeout(Duration::from_secs(5), async {
        while gw.gateway.open_sockets() != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("refused sockets are released");
}

#[tokio::test]
async fn malformed_frames_get_the_codes_of_the_version() {
    let gw = start(test_config()).await;
    for (id, proto, rpc, fmt, msgtype) in [
        (
            "CP1",
            "ocpp1.6",
            "FormationViolation",
            "FormationViolation",
            "FormationViolation",
        ),
        (
            "CP2",
            "ocpp2.0.1",
            "RpcFrameworkError",
            "FormatViolation",
            "MessageTypeNotSupported",
        ),
    ] {
        let mut ws = charger(&gw, id, proto).await;
        send_raw(&mut ws, "this is not json").await;
        let r = recv(&mut ws).await;
        assert_eq!(
            (r[0].clone(), r[1].clone(), r[2].clone()),
            (json!(4), json!("-1"), json!(rpc)),
            "{proto}: {r}"
        );
        send_raw(&mut ws, r#"[2,"m1","Heartbeat"]"#).await;
        let r = recv(&mut ws).await;
        assert_eq!(
            (r[1].clone(), r[2].clone()),
            (json!("m1"), json!(rpc)),
            "{proto}: {r}"
        );
        send_raw(&mut ws, r#"[2,"m2","Heartbeat",[]]"#).await;
        assert_eq!(recv(&mut ws).await[2], fmt, "{proto}");
        send_raw(&mut ws, r#"[6,"m3","Heartbeat",{}]"#).await;
        let r = recv(&mut ws).await;
        assert_eq!(
            (r[1].clone(), r[2].clone()),
            (json!("m3"), json!(msgtype)),
            "{proto}: {r}"
        );
        // unknown action
        assert_eq!(
            call(&mut ws, "m4", "MakeCoffee", json!({})).await[2],
            "NotImplemented"
        );
        // an action only the CSMS sends
        let csms_action = if proto == "ocpp1.6" {
            "RemoteStartTransaction"
        } else {
            "RequestStartTransaction"
        };
        assert_eq!(
            call(&mut ws, "m5", csms_action, json!({})).await[2],
            "NotSupported"
        );
        // a stray answer is not answered
        send_raw(&mut ws, r#"[3,"nobody",{}]"#).await;
        send_raw(&mut ws, r#"[4,"nobody","GenericError","",{}]"#).await;
        send_raw(&mut ws, r#"[3,"nobody"]"#).await;
        assert_silent(&mut ws, Duration::from_millis(200)).await;
        // binary frames are not OCPP-J
        futures::SinkExt::send(&mut ws, Message::Binary(vec![1u8, 2, 3].into()))
            .await
            .unwrap();
        assert_eq!(recv(&mut ws).await[2], rpc);
        // and the connection still works
        assert_eq!(call(&mut ws, "ok", "Heartbeat", json!({})).await[0], 3);
    }
}

#[tokio::test]
async fn schema_violations_map_to_codes_per_version() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let cases16 = [
        (
            json!({"chargePointVendor": "V"}),
            "OccurenceConstraintViolation",
        ),
        (
            json!({"chargePointVendor": "V", "chargePointModel": 7}),
            "TypeConstraintViolation",
        ),
        (
            json!({"chargePointVendor": "V", "chargePointModel": "M", "x": 1}),
            "FormationViolation",
        ),
    ];
    for (i, (payload, code)) in cases16.into_iter().enumerate() {
        let r = call(&mut ws, &format!("b{i}"), "BootNotification", payload).await;
        assert_eq!(r[2], code, "{r}");
        assert!(
            r[4]["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{r}"
        );
    }
    let r = call(
        &mut ws,
        "s1",
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}),
    )
    .await;
    assert_eq!(r[2], "PropertyConstraintViolation");
    assert_eq!(gw.recorder.count("BootNotification"), 0);

    let mut ws = charger(&gw, "CP2", "ocpp2.0.1").await;
    let r = call(
        &mut ws,
        "b1",
        "BootNotification",
        json!({"reason": "PowerUp"}),
    )
    .await;
    assert_eq!(r[2], "OccurrenceConstraintViolation");
    let r = call(
        &mut ws,
        "b2",
        "BootNotification",
        json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}, "y": 1}),
    )
    .await;
    assert_eq!(r[2], "FormatViolation");
}

#[tokio::test]
async fn zone_less_timestamps_are_repaired_not_rejected() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let r = call(
        &mut ws,
        "s1",
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "2024-05-01T10:00:00"}),
    )
    .await;
    assert_eq!(r[0], 3, "{r}");
    let seen = gw.recorder.payloads.lock().unwrap()["StatusNotification"].clone();
    assert_eq!(seen["timestamp"], "2024-05-01T10:00:00Z");
}

#[tokio::test]
async fn repeated_message_id_is_answered_once() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let first = call(&mut ws, "same", "Heartbeat", json!({})).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = call(&mut ws, "same", "Heartbeat", json!({})).await;
    assert_eq!(first, second);
    assert_eq!(gw.recorder.count("Heartbeat"), 1);
    // errors are cached too
    let e1 = call(&mut ws, "bad", "BootNotification", json!({})).await;
    let e2 = call(&mut ws, "bad", "BootNotification", json!({})).await;
    assert_eq!(e1, e2);
    // the same id arriving while the first is still being handled is answered once
    send(&mut ws, json!([2, "slow", "Authorize", {"idTag": "T1"}])).await;
    send(&mut ws, json!([2, "slow", "Authorize", {"idTag": "T1"}])).await;
    assert_eq!(recv(&mut ws).await[1], "slow");
    assert_silent(&mut ws, Duration::from_millis(500)).await;
    assert_eq!(gw.recorder.count("Authorize"), 1);
    // a new id is handled
    call(&mut ws, "other", "Heartbeat", json!({})).await;
    assert_eq!(gw.recorder.count("Heartbeat"), 2);
}

#[tokio::test]
async fn incoming_calls_are_handled_in_order() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    // the slow Authorize is queued before the Heartbeat: answers keep the order
    send(&mut ws, json!([2, "a", "Authorize", {"idTag": "T1"}])).await;
    send(&mut ws, json!([2, "b", "Heartbeat", {}])).await;
    assert_eq!(recv(&mut ws).await[1], "a");
    assert_eq!(recv(&mut ws).await[1], "b");
}

#[tokio::test]
async fn outbound_calls_one_in_flight_the_rest_queued() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let g = gw.gateway.clone();
    let first = tokio::spawn(async move {
        g.send_call("CP1", "RemoteStartTransaction", json!({"idTag": "A"}))
            .await
    });
    let g = gw.gateway.clone();
    let second = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        g.call("CP1", &RemoteStartTransactionRequest::new("B"))
            .await
    });
    let c1 = recv(&mut ws).await;
    assert_eq!(
        (c1[0].clone(), c1[2].clone(), c1[3]["idTag"].clone()),
        (json!(2), json!("RemoteStartTransaction"), json!("A"))
    );
    // the second CALL waits for the answer to the first
    assert_silent(&mut ws, Duration::from_millis(300)).await;
    send(&mut ws, json!([3, c1[1], {"status": "Accepted"}])).await;
    let c2 = recv(&mut ws).await;
    assert_eq!(c2[3]["idTag"], "B");
    assert_ne!(c1[1], c2[1], "fresh message ids");
    send(&mut ws, json!([3, c2[1], {"status": "Rejected"}])).await;
    assert_eq!(first.await.unwrap().unwrap(), json!({"status": "Accepted"}));
    assert_eq!(
        second.await.unwrap().unwrap().status,
        RemoteStartStopStatus::Rejected
    );

    // CALLERROR answer
    let g = gw.gateway.clone();
    let pending = tokio::spawn(async move {
        g.send_call("CP1", "UnlockConnector", json!({"connectorId": 1}))
            .await
    });
    let c = recv(&mut ws).await;
    send(&mut ws, json!([4, c[1], "NotSupported", "no lock", {}])).await;
    let e = pending.await.unwrap().unwrap_err();
    assert_eq!(e.remote_code(), Some(ErrorCode::NotSupported), "{e}");

    // an answer that violates the response schema
    let g = gw.gateway.clone();
    let pending = tokio::spawn(async move {
        g.send_call("CP1", "UnlockConnector", json!({"connectorId": 1}))
            .await
    });
    let c = recv(&mut ws).await;
    send(&mut ws, json!([3, c[1], {"status": "Wobbly"}])).await;
    match pending.await.unwrap().unwrap_err() {
        CallError::InvalidResponse { reply, .. } => {
            assert_eq!(reply.code, ErrorCode::PropertyConstraintViolation)
        }
        e => panic!("{e}"),
    }

    // refused before sending
    let g = &gw.gateway;
    assert!(matches!(
        g.send_call("CP1", "MakeCoffee", json!({})).await,
        Err(CallError::UnknownAction { .. })
    ));
    assert!(matches!(
        g.send_call("CP1", "BootNotification", boot16()).await,
        Err(CallError::NotACsmsAction { .. })
    ));
    assert!(matches!(
        g.send_call("CP1", "UnlockConnector", json!({})).await,
        Err(CallError::InvalidRequest(_))
    ));
    assert!(matches!(
        g.send_call("CP9", "UnlockConnector", json!({"connectorId": 1}))
            .await,
        Err(CallError::NotConnected(_))
    ));
    let v201 = ocpp_gateway::messages::v201::RequestStopTransactionRequest {
        transaction_id: "t".into(),
        extra: Default::default(),
    };
    assert!(matches!(
        g.call("CP1", &v201).await,
        Err(CallError::WrongVersion { .. })
    ));
    assert_silent(&mut ws, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn outbound_call_timeout_frees_the_slot() {
    let gw = start(GatewayConfig {
        call_timeout_ms: 300,
        max_queued_calls: 1,
        ..test_config()
    })
    .await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let g = gw.gateway.clone();
    let first = tokio::spawn(async move {
        g.send_call("CP1", "CancelReservation", json!({"reservationId": 1}))
            .await
    });
    let c1 = recv(&mut ws).await;
    let g = gw.gateway.clone();
    let second = tokio::spawn(async move {
        g.send_call("CP1", "CancelReservation", json!({"reservationId": 2}))
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // queue of one is full now
    let third = gw
        .gateway
        .send_call("CP1", "CancelReservation", json!({"reservationId": 3}))
        .await;
    assert_eq!(third.unwrap_err(), CallError::QueueFull);
    assert!(matches!(first.await.unwrap(), Err(CallError::Timeout(_))));
    let c2 = recv(&mut ws).await;
    assert_eq!(c2[3]["reservationId"], 2);
    // the late answer to the first call is ignored
    send(&mut ws, json!([3, c1[1], {"status": "Accepted"}])).await;
    send(&mut ws, json!([3, c2[1], {"status": "Rejected"}])).await;
    assert_eq!(
        second.await.unwrap().unwrap(),
        json!({"status": "Rejected"})
    );

    // a caller that gives up while queued is skipped
    let g = gw.gateway.clone();
    let blocker = tokio::spawn(async move {
        g.send_call("CP1", "CancelReservation", json!({"reservationId": 4}))
            .await
    });
    let c4 = recv(&mut ws).await;
    let g = gw.gateway.clone();
    let abandoned = tokio::spawn(async move {
        g.send_call("CP1", "CancelReservation", json!({"reservationId": 5}))
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    abandoned.abort();
    send(&mut ws, json!([3, c4[1], {"status": "Accepted"}])).await;
    blocker.await.unwrap().unwrap();
    assert_silent(&mut ws, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_handler_may_call_the_charger_while_handling_its_call() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    send(
        &mut ws,
        json!([2, "dt", "DataTransfer", {"vendorId": "callback"}]),
    )
    .await;
    let inner = recv(&mut ws).await;
    assert_eq!(
        (inner[0].clone(), inner[2].clone()),
        (json!(2), json!("DataTransfer"))
    );
    send(
        &mut ws,
        json!([3, inner[1], {"status": "Accepted", "data": "pong"}]),
    )
    .await;
    let outer = recv(&mut ws).await;
    assert_eq!(
        outer,
        json!([3, "dt", {"status": "Accepted", "data": "pong"}])
    );
}

#[tokio::test]
async fn a_second_connection_replaces_the_first() {
    let gw = start(test_config()).await;
    let mut first = charger(&gw, "CP1", "ocpp1.6").await;
    call(&mut first, "1", "BootNotification", boot16()).await;
    let old_id = gw.gateway.charger("CP1").unwrap().connection_id();
    let mut second = charger(&gw, "CP1", "ocpp2.0.1").await;
    // the first gets a close frame
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match first.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(CloseCode::Normal));
    gw.recorder
        .wait_event(|e| e.starts_with("connect CP1") && !e.contains(&format!("#{old_id} ")))
        .await;
    let events: Vec<String> = gw
        .recorder
        .events()
        .into_iter()
        .filter(|e| e.contains("CP1"))
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events[0].starts_with(&format!("connect CP1 #{old_id} 1.6")),
        "{events:?}"
    );
    assert!(
        events[1].starts_with(&format!("disconnect CP1 #{old_id} Replaced")),
        "{events:?}"
    );
    assert!(
        events[2].starts_with("connect CP1") && events[2].ends_with("2.0.1"),
        "{events:?}"
    );
    let h = gw.gateway.charger("CP1").unwrap();
    assert_ne!(h.connection_id(), old_id);
    assert_eq!(h.version(), OcppVersion::V201);
    assert_eq!(
        call(&mut second, "1", "BootNotification", boot201()).await[0],
        3
    );
    assert_eq!(gw.gateway.connected_count(), 1);
}

#[tokio::test]
async fn silent_peers_are_closed_live_ones_kept() {
    let gw = start(GatewayConfig {
        ping_interval_ms: 150,
        pong_timeout_ms: 150,
        ..test_config()
    })
    .await;
    // a client that never reads never answers pings
    let _dead = charger(&gw, "CP1", "ocpp1.6").await;
    // a client that reads answers them (tungstenite replies to pings while reading)
    let mut live = charger(&gw, "CP2", "ocpp1.6").await;
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = live.next().await {} });
    gw.recorder
        .wait_event(|e| e.starts_with("disconnect CP1") && e.ends_with("Dead"))
        .await;
    assert!(!gw.gateway.is_connected("CP1"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(gw.gateway.is_connected("CP2"), "{:?}", gw.recorder.events());
    reader.abort();
}

#[tokio::test]
async fn the_connection_cap_answers_503() {
    let gw = start(GatewayConfig {
        max_connections: 1,
        ..test_config()
    })
    .await;
    let _first = charger(&gw, "CP1", "ocpp1.6").await;
    assert_eq!(
        refused_status(&gw, "CP2", "ocpp1.6", Some(PASSWORD)).await,
        503
    );
    drop(_first);
    gw.wait_connected("CP1", false).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _second = charger(&gw, "CP2", "ocpp1.6").await;
}

#[tokio::test]
async fn oversized_messages_close_the_connection() {
    let gw = start(GatewayConfig {
        max_message_size: 4096,
        ..test_config()
    })
    .await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    let big = json!([2, "big", "DataTransfer", {"vendorId": "V", "data": "x".repeat(10_000)}]);
    let _ = futures::SinkExt::send(&mut ws, Message::text(big.to_string())).await;
    gw.recorder
        .wait_event(|e| e.starts_with("disconnect CP1") && e.ends_with("MessageTooBig"))
        .await;
    assert_eq!(gw.recorder.count("DataTransfer"), 0);
}

#[tokio::test]
async fn tls_security_profile_2() {
    let config = GatewayConfig {
        tls: Some(TlsConfig {
            cert_path: fixture("server.crt"),
            key_path: fixture("server.key"),
        }),
        ..test_config()
    };
    let gw = start(config).await;
    let mut ws = charger(&gw, "CP1", "ocpp2.0.1").await;
    assert_eq!(
        call(&mut ws, "1", "BootNotification", boot201()).await[2]["status"],
        "Accepted"
    );
    assert!(gw.gateway.charger("CP1").unwrap().session().tls);
    assert_eq!(
        refused_status(&gw, "CP1", "ocpp2.0.1", Some("wrong")).await,
        401
    );

    let missing = ocpp_gateway::Gateway::new(GatewayConfig {
        tls: Some(TlsConfig {
            cert_path: fixture("nope.crt"),
            key_path: fixture("server.key"),
        }),
        ..test_config()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = missing
        .serve_listener(
            listener,
            auth(),
            std::sync::Arc::new(ocpp_gateway::EchoBootHandler),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope.crt"), "{err}");
}

#[tokio::test]
async fn shutdown_closes_every_connection() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    gw.gateway.shutdown();
    let code = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(code, Some(CloseCode::Away));
    gw.task.await.unwrap().unwrap();
    gw.recorder.wait_event(|e| e.ends_with("Shutdown")).await;
}

#[tokio::test]
async fn handle_close_disconnects() {
    let gw = start(test_config()).await;
    let _ws = charger(&gw, "CP1", "ocpp1.6").await;
    assert!(gw.gateway.disconnect("CP1"));
    gw.recorder
        .wait_event(|e| e.starts_with("disconnect CP1") && e.ends_with("ClosedByGateway"))
        .await;
    assert!(!gw.gateway.disconnect("CP1"));
    assert_eq!(gw.gateway.connected_count(), 0);
}

#[tokio::test]
async fn a_panicking_handler_drops_only_that_connection() {
    let gw = start(test_config()).await;
    let mut ws = charger(&gw, "CP1", "ocpp1.6").await;
    send(
        &mut ws,
        json!([2, "f", "FirmwareStatusNotification", {"status": "Idle"}]),
    )
    .await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => panic!("unexpected answer {t}"),
                Some(Ok(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection should end");
    gw.wait_connected("CP1", false).await;
    let mut again = charger(&gw, "CP1", "ocpp1.6").await;
    assert_eq!(call(&mut again, "1", "Heartbeat", json!({})).await[0], 3);
}
