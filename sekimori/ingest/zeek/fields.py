"""Zeek's logs by their fields: the field list of each known log, and which log a record belongs to.

This module owns the per-log field tables (``LOG_FIELDS``: conn, dns, kerberos, ntlm, rdp, smb_mapping,
smb_files, ssh, dce_rpc, http, files, ssl, x509 and the other Zeek 6 default logs), the keys every log
may carry (``COMMON_KEYS``, ``SENSOR_KEYS``), and telling a record's log from its keys when neither a
``_path`` key (JSON) nor a ``#path`` line (TSV) says it (``infer_path``, ``fallback_path``); the file
name only breaks ties. It knows nothing of value syntax or of events.
"""

from __future__ import annotations

# Keys every log may carry (connection id, uid, writer metadata); they say nothing about the log.
COMMON_KEYS = frozenset(
    {"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "id.vlan", "id.vlan_inner",
     "community_id", "_path", "_write_ts", "_system_name", "_node_name", "_node", "id"}
)  # fmt: skip
# Keys naming the sensor that wrote a record, in order of preference (the event's ``host``).
SENSOR_KEYS = ("_system_name", "_node_name", "_node")

# Fields of the Zeek 6 default logs (without the common keys), used to tell a JSON record's log.
LOG_FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(fields.split())
    for name, fields in {
        "conn": "proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes "
        "history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto orig_l2_addr "
        "resp_l2_addr",
        "dns": "proto trans_id rtt query qclass qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z "
        "answers TTLs rejected",
        "kerberos": "request_type client service success error_msg from till cipher forwardable renewable "
        "client_cert_subject client_cert_fuid server_cert_subject server_cert_fuid",
        "ntlm": "username hostname domainname server_nb_computer_name server_dns_computer_name "
        "server_tree_name success status",
        "rdp": "cookie result security_protocol client_channels keyboard_layout client_build client_name "
        "client_dig_product_id desktop_width desktop_height requested_color_depth cert_type cert_count "
        "cert_permanent encryption_level encryption_method",
        "smb_mapping": "path service native_file_system share_type",
        "smb_files": "fuid action path name size prev_name times.modified times.accessed times.created "
        "times.changed",
        "ssh": "version auth_success auth_attempts direction client server cipher_alg mac_alg "
        "compression_alg kex_alg host_key_alg host_key remote_location.country_code "
        "remote_location.region remote_location.city remote_location.latitude remote_location.longitude",
        "dce_rpc": "rtt named_pipe endpoint operation",
        "http": "trans_depth method host uri referrer version user_agent origin request_body_len "
        "response_body_len status_code status_msg info_code info_msg tags username password proxied "
        "orig_fuids orig_filenames orig_mime_types resp_fuids resp_filenames resp_mime_types",
        "files": "fuid source depth analyzers mime_type filename duration local_orig is_orig seen_bytes "
        "total_bytes missing_bytes overflow_bytes timedout parent_fuid md5 sha1 sha256 extracted "
        "extracted_cutoff extracted_size tx_hosts rx_hosts conn_uids",
        "ssl": "version cipher curve server_name resumed last_alert next_protocol established ssl_history "
        "cert_chain_fps client_cert_chain_fps sni_matches_cert validation_status subject issuer "
        "client_subject client_issuer cert_chain_fuids client_cert_chain_fuids",
        "x509": "fingerprint certificate.version certificate.serial certificate.subject certificate.issuer "
        "certificate.not_valid_before certificate.not_valid_after certificate.key_alg certificate.sig_alg "
        "certificate.key_type certificate.key_length certificate.exponent certificate.curve san.dns "
        "san.uri san.email san.ip basic_constraints.ca basic_constraints.path_len host_cert client_cert",
        "dhcp": "uids client_addr server_addr mac host_name client_fqdn domain requested_addr assigned_addr "
        "lease_time client_message server_message msg_types duration",
        "smtp": "trans_depth helo mailfrom rcptto date from to cc reply_to msg_id in_reply_to subject "
        "x_originating_ip first_received second_received last_reply path user_agent tls fuids is_webmail",
        "ftp": "user password command arg mime_type file_size reply_code reply_msg data_channel.passive "
        "data_channel.orig_h data_channel.resp_h data_channel.resp_p fuid",
        "weird": "name addl notice peer source",
        "notice": "fuid file_mime_type file_desc proto note msg sub src dst p n peer_descr actions "
        "email_dest suppress_for remote_location.country_code remote_location.region "
        "remote_location.city remote_location.latitude remote_location.longitude",
        "analyzer": "cause analyzer_kind analyzer_name fuid failure_reason failure_data",
        "dpd": "proto analyzer failure_reason packet_segment",
        "ntp": "version mode stratum poll precision root_delay root_disp ref_id ref_time org_time rec_time "
        "xmt_time num_exts",
        "snmp": "duration version community get_requests get_bulk_requests get_responses set_requests "
        "display_string up_since",
        "syslog": "proto facility severity message",
        "modbus": "tid unit func pdu_type exception",
        "rfb": "client_major_version client_minor_version server_major_version server_minor_version "
        "authentication_method auth share_flag desktop_name width height",
        "ldap_search": "message_id scope deref_aliases base_object result_count result diagnostic_message "
        "filter attributes",
        "ldap": "message_id version opcode result diagnostic_message object argument",
        "pe": "machine compile_ts os subsystem is_exe is_64bit uses_aslr uses_dep uses_code_integrity "
        "uses_seh has_import_table has_export_table has_cert_table has_debug_data section_names",
        "ocsp": "hashAlgorithm issuerNameHash issuerKeyHash serialNumber certStatus revoketime revokereason "
        "thisUpdate nextUpdate",
        "software": "host host_p software_type name version.major version.minor version.minor2 "
        "version.minor3 version.addl unparsed_version",
        "known_hosts": "host",
        "known_services": "host port_num port_proto service",
        "known_certs": "host port_num subject issuer_subject serial",
        "capture_loss": "ts_delta peer gaps acks percent_lost",
        "stats": "peer mem pkts_proc bytes_recv pkts_dropped pkts_link pkt_lag pkts_filtered events_proc "
        "events_queued active_tcp_conns active_udp_conns active_icmp_conns tcp_conns udp_conns "
        "icmp_conns timers active_timers files active_files dns_requests active_dns_requests "
        "reassem_tcp_size reassem_file_size reassem_frag_size reassem_unknown_size",
        "packet_filter": "node filter init success failure_reason",
        "loaded_scripts": "name",
        "tunnel": "tunnel_type action",
        "sip": "trans_depth method uri date request_from request_to response_from response_to reply_to "
        "call_id seq subject request_path response_path user_agent status_code status_msg warning "
        "request_body_len response_body_len content_type",
        "radius": "username mac framed_addr tunnel_client remote_ip connect_info reply_msg result ttl",
        "irc": "nick user command value addl dcc_file_name dcc_file_size dcc_mime_type fuid",
        "mysql": "cmd arg success rows response",
        "socks": "version user password status request.host request.name request_p bound.host bound.name "
        "bound_p",
        "dnp3": "fc_request fc_reply iin",
        "tls": "version cipher",
    }.items()
}
_FIELD_COUNTS = {name: len(fields) for name, fields in LOG_FIELDS.items()}


def infer_path(keys: tuple[str, ...] | frozenset[str], hint: str | None = None) -> str | None:
    """The Zeek log whose fields fit ``keys`` best; ``hint`` (from the file name) breaks ties only.

    Score: fields of the log present minus keys foreign to it (common keys do not count); the log
    must score above zero. Among the logs with the top score the hint wins, else the log with the
    larger share of its fields present, else the first by name.
    """
    specific = [k for k in keys if k not in COMMON_KEYS]
    if not specific:
        return hint if hint in LOG_FIELDS else None
    scored: list[tuple[int, float, str]] = []
    for name, fields in LOG_FIELDS.items():
        hits = sum(1 for k in specific if k in fields)
        score = 2 * hits - len(specific)  # hits - misses
        if hits and score > 0:
            scored.append((score, hits / _FIELD_COUNTS[name], name))
    if not scored:
        return None
    top = max(s[0] for s in scored)
    tied = [s for s in scored if s[0] == top]
    if any(s[2] == hint for s in tied):
        return hint
    return min(tied, key=lambda s: (-s[1], s[2]))[2]


def fallback_path(hint: str | None) -> str:
    # A log none of the known field lists fits: the file name may say what it is, unless it names
    # a known log the content contradicts.
    return hint if hint and hint not in LOG_FIELDS else "unknown"
