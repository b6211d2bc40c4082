import { existsSync, readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { MqttConfig } from '../../config.ts';

/** A certificate variable holds either PEM text or a path to a PEM file (the seed used paths). */
export function pemOrFile(value: string): Buffer {
  if (value.includes('-----BEGIN')) return Buffer.from(value.replace(/\\n/g, '\n'));
  if (!existsSync(value)) throw new Error(`certificate file not found: ${value}`);
  return readFileSync(value);
}

/** MQTT.js options for the external broker from the seed's variables (TLS, client certs, login). */
export function externalOptions(cfg: MqttConfig): IClientOptions {
  const o: IClientOptions = {
    keepalive: cfg.keepaliveSeconds,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  };
  if (cfg.username !== null) o.username = cfg.username;
  if (cfg.password !== null) o.password = cfg.password;
  if (cfg.caCert !== null) o.ca = pemOrFile(cfg.caCert);
  if (cfg.clientCert !== null) o.cert = pemOrFile(cfg.clientCert);
  if (cfg.clientKey !== null) o.key = pemOrFile(cfg.clientKey);
  return o;
}
