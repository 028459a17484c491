<#-- keycloak.v2's passkey registration (26.5), with the passkey's name asked in a labelled field
     of the page (Keycloak asks it in a window.prompt after the device's own dialog), and the way
     back to « Mon compte » when the parent changes their mind. -->
<#import "template.ftl" as layout>
<#import "field.ftl" as field>
<#import "buttons.ftl" as buttons>

<@layout.registrationLayout; section>
    <#if section = "title">
        ${msg("webauthn-registration-title")}
    <#elseif section = "header">
        ${msg("webauthn-registration-title")}
    <#elseif section = "form">
    <div class="${properties.kcFormClass!}">
        <p>${msg("portailPasskeyRegisterHelp")}</p>
        <div class="${properties.kcFormGroupClass!}">
            <label for="portail-passkey-label" class="${properties.kcLabelClass!}">${msg("portailPasskeyLabel")}</label>
            <span class="${properties.kcInputClass!}">
                <input type="text" id="portail-passkey-label" maxlength="100" autocomplete="off" aria-describedby="portail-passkey-label-help" value="${msg("webauthn-registration-init-label")}"/>
            </span>
            <p class="portail-help" id="portail-passkey-label-help">${msg("portailPasskeyLabelHelp")}</p>
        </div>
        <form id="register" action="${url.loginAction}" method="post">
            <input type="hidden" id="clientDataJSON" name="clientDataJSON"/>
            <input type="hidden" id="attestationObject" name="attestationObject"/>
            <input type="hidden" id="publicKeyCredentialId" name="publicKeyCredentialId"/>
            <input type="hidden" id="authenticatorLabel" name="authenticatorLabel"/>
            <input type="hidden" id="transports" name="transports"/>
            <input type="hidden" id="error" name="error"/>
        </form>

        <script type="module">
            <#outputformat "JavaScript">
            import { registerByWebAuthn } from "${url.resourcesPath}/js/webauthnRegister.js";
            const registerButton = document.getElementById('registerWebAuthn');
            const label = document.getElementById('portail-passkey-label');
            const initLabel = ${msg("webauthn-registration-init-label")?c};
            // Keycloak's script asks the name with window.prompt once the key is made: the field answers.
            window.prompt = () => label.value.trim().slice(0, 100) || initLabel;
            registerButton.addEventListener("click", function() {
                registerByWebAuthn({
                    challenge : ${challenge?c},
                    userid : ${userid?c},
                    username : ${username?c},
                    signatureAlgorithms : [<#list signatureAlgorithms as sigAlg>${sigAlg?c},</#list>],
                    rpEntityName : ${rpEntityName?c},
                    rpId : ${rpId?c},
                    attestationConveyancePreference : ${attestationConveyancePreference?c},
                    authenticatorAttachment : ${authenticatorAttachment?c},
                    requireResidentKey : ${requireResidentKey?c},
                    userVerificationRequirement : ${userVerificationRequirement?c},
                    createTimeout : ${createTimeout?c},
                    excludeCredentialIds : ${excludeCredentialIds?c},
                    initLabel : initLabel,
                    initLabelPrompt : "",
                    errmsg : ${msg("webauthn-unsupported-browser-text")?c}
                });
            },  { once: true });
            </#outputformat>
        </script>

        <@buttons.actionGroup horizontal=true>
            <@buttons.button id="registerWebAuthn" label="portailPasskeyCreate" class=["kcButtonPrimaryClass","kcButtonBlockClass"]/>
            <#if !isSetRetry?has_content && isAppInitiatedAction?has_content>
                <form class="${properties.kcFormClass!}" action="${url.loginAction}" id="kc-webauthn-settings-form" method="post">
                    <@buttons.button id="cancelWebAuthnAIA" name="cancel-aia" label="portailPasskeyNotNow" class=["kcButtonSecondaryClass","kcButtonBlockClass"]/>
                </form>
            </#if>
        </@buttons.actionGroup>
    </div>
    </#if>
</@layout.registrationLayout>
