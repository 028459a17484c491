<#-- keycloak.v2's passkey sign-in (26.5, base/login/passkeys.ftl), shown first: « Se connecter avec une
     clé d'accès » above the email and password, only in a browser that can use passkeys (the block
     stays hidden otherwise), and offered again in the email field's autofill (conditional UI).
     The hidden forms and the scripts are Keycloak's own. -->
<#macro conditionalUIData>
    <#if enableWebAuthnConditionalUI?has_content>
        <form id="webauth" action="${url.loginAction}" method="post">
            <input type="hidden" id="clientDataJSON" name="clientDataJSON"/>
            <input type="hidden" id="authenticatorData" name="authenticatorData"/>
            <input type="hidden" id="signature" name="signature"/>
            <input type="hidden" id="credentialId" name="credentialId"/>
            <input type="hidden" id="userHandle" name="userHandle"/>
            <input type="hidden" id="error" name="error"/>
        </form>
        <#if authenticators??>
            <form id="authn_select" class="${properties.kcFormClass!}">
                <#list authenticators.authenticators as authenticator>
                    <input type="hidden" name="authn_use_chk" value="${authenticator.credentialId}"/>
                </#list>
            </form>
        </#if>
        <div id="portail-passkey" class="portail-passkey" hidden>
            <button type="button" id="authenticateWebAuthnButton" class="${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!}">
                ${msg("portailPasskeySignIn")}
            </button>
            <p class="portail-help">${msg("portailPasskeyHelp")}</p>
            <p class="portail-or"><span>${msg("portailPasskeyOr")}</span></p>
        </div>
        <script type="module">
           <#outputformat "JavaScript">
           import { authenticateByWebAuthn } from "${url.resourcesPath}/js/webauthnAuthenticate.js";
           import { initAuthenticate } from "${url.resourcesPath}/js/passkeysConditionalAuth.js";

           const args = {
               isUserIdentified : ${isUserIdentified},
               challenge : ${challenge?c},
               userVerification : ${userVerification?c},
               rpId : ${rpId?c},
               createTimeout : ${createTimeout?c}
           };

           // Passkeys first, only where the browser has them.
           if (window.PublicKeyCredential) {
               document.getElementById("portail-passkey").hidden = false;
           }
           initAuthenticate({errmsg : ${msg("passkey-unsupported-browser-text")?c}, ...args});
           document.getElementById("authenticateWebAuthnButton").addEventListener("click", (event) => {
               event.preventDefault();
               authenticateByWebAuthn({errmsg : ${msg("webauthn-unsupported-browser-text")?c}, ...args});
           });
           </#outputformat>
        </script>
    </#if>
</#macro>
